// Storage for large arrays whose rows are read in random order (MF factors). Rows of 16 floats
// must start on a cache line, or every 64-byte vector load is split across two lines; and with
// 4 KiB pages a random row of a 250 MB array costs a TLB miss per update. So arrays of 2 MiB or
// more are aligned to 2 MiB and offered to transparent huge pages (THP in "madvise" mode, the
// common default, needs the hint); smaller ones are aligned to 64 bytes.
#pragma once
#include <cstddef>
#include <cstdlib>
#include <new>
#include <vector>
#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace cfkit {

template <class T>
struct RowAllocator {
  using value_type = T;
  static constexpr size_t kHuge = size_t(2) << 20;

  RowAllocator() = default;
  template <class U>
  RowAllocator(const RowAllocator<U>&) noexcept {}

  T* allocate(size_t n) {
    if (n > size_t(-1) / sizeof(T) - kHuge) throw std::bad_alloc();
    const size_t bytes = n * sizeof(T);
    const size_t align = bytes >= kHuge ? kHuge : 64;
    const size_t size = (bytes + align - 1) / align * align;  // aligned_alloc wants a multiple of align
    void* p = std::aligned_alloc(align, size);
    if (!p) throw std::bad_alloc();
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (align == kHuge) madvise(p, size, MADV_HUGEPAGE);  // a hint; failure is harmless
#endif
    return static_cast<T*>(p);
  }
  void deallocate(T* p, size_t) noexcept { std::free(p); }

  template <class U>
  bool operator==(const RowAllocator<U>&) const noexcept { return true; }
  template <class U>
  bool operator!=(const RowAllocator<U>&) const noexcept { return false; }
};

template <class T>
using RowVector = std::vector<T, RowAllocator<T>>;

}  // namespace cfkit
