// Returning freed heap memory to the system.
#pragma once
#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace cfkit {

// Hands memory freed into the heap back to the system. glibc keeps it for reuse otherwise, and
// after a large free it also raises its threshold for serving allocations by mmap, so later
// medium-sized buffers (SANSA's per-column vectors) fragment the heap and RSS only grows.
inline void release_free_heap() {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

}  // namespace cfkit
