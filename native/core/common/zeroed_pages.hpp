// Large zero-filled arrays in their own anonymous mapping. The kernel hands such pages out zeroed, so
// nothing needs clearing; what costs is the first touch of each page. On a virtual machine a page
// fault is a trap to the host as well: clearing 1.7 GB of fresh 4 KiB pages took 1.2-1.6 s on two
// threads here, while the kernel filled in the same pages in 0.3 s when asked up front with
// MADV_POPULATE_WRITE (Linux 5.14+). Elsewhere, and on older kernels, a write to each page does it.
#pragma once
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <memory>
#include <new>
#include <thread>
#include <utility>

#include "common/parallel.hpp"
#if defined(__linux__)
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#endif

namespace cfkit {

// Unmaps `bytes` from `mapping`, or from the array's own pointer when the array starts its mapping.
struct ReleasePages {
  size_t bytes = 0;
  void* mapping = nullptr;
  void operator()(void* p) const noexcept {
#if defined(__linux__)
    if (p) munmap(mapping ? mapping : p, bytes);
#else
    std::free(p);
#endif
  }
};

template <class T>
using ZeroedArray = std::unique_ptr<T[], ReleasePages>;

// The 4 KiB pages of [begin, end) as addresses [b, e): those wholly inside it, or all it touches.
struct PageRange {
  static constexpr uintptr_t kPage = 4096;
  uintptr_t b, e;
  static PageRange inside(const void* begin, const void* end) {
    return {(reinterpret_cast<uintptr_t>(begin) + kPage - 1) & ~(kPage - 1), reinterpret_cast<uintptr_t>(end) & ~(kPage - 1)};
  }
  static PageRange covering(const void* begin, const void* end) {
    return {reinterpret_cast<uintptr_t>(begin) & ~(kPage - 1), (reinterpret_cast<uintptr_t>(end) + kPage - 1) & ~(kPage - 1)};
  }
  bool empty() const { return e <= b; }
  void* start() const { return reinterpret_cast<void*>(b); }
  size_t bytes() const { return e - b; }
};

// n zeroed elements, 2 MiB-aligned, offered to transparent huge pages, with no page touched yet.
template <class T>
ZeroedArray<T> map_zeroed(size_t n) {
  constexpr size_t kHuge = size_t(2) << 20;
  if (n == 0 || n > (size_t(-1) - 2 * kHuge) / sizeof(T)) throw std::bad_alloc();
  const size_t bytes = (n * sizeof(T) + kHuge - 1) / kHuge * kHuge;
#if defined(__linux__)
  void* base = mmap(nullptr, bytes + kHuge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (base == MAP_FAILED) throw std::bad_alloc();
  // Trim the mapping to a 2 MiB-aligned start: huge pages only back aligned ranges.
  const uintptr_t b = reinterpret_cast<uintptr_t>(base);
  const uintptr_t start = (b + kHuge - 1) & ~uintptr_t(kHuge - 1);
  if (start > b) munmap(base, start - b);
  if (start - b < kHuge) munmap(reinterpret_cast<void*>(start + bytes), kHuge - (start - b));
#if defined(MADV_HUGEPAGE)
  madvise(reinterpret_cast<void*>(start), bytes, MADV_HUGEPAGE);  // a hint; failure is harmless
#endif
  return ZeroedArray<T>(reinterpret_cast<T*>(start), ReleasePages{bytes});
#else
  void* p = std::calloc(n, sizeof(T));
  if (!p) throw std::bad_alloc();
  return ZeroedArray<T>(static_cast<T*>(p), ReleasePages{bytes});
#endif
}

// Withdraws the huge-page hint from the whole 4 KiB pages inside [begin, end), for a region of which
// only parts will ever be touched: a huge page is faulted in, and counted, whole.
inline void no_huge_pages(const void* begin, const void* end) noexcept {
#if defined(__linux__) && defined(MADV_NOHUGEPAGE)
  const PageRange r = PageRange::inside(begin, end);
  if (!r.empty()) madvise(r.start(), r.bytes(), MADV_NOHUGEPAGE);  // a hint; failure is harmless
#else
  (void)begin;
  (void)end;
#endif
}

// Gives back the whole 4 KiB pages inside [begin, end) of a map_zeroed array, which must still be
// zero: they stay zero, and are no longer resident until touched.
inline void release_pages(const void* begin, const void* end) noexcept {
#if defined(__linux__)
  const PageRange r = PageRange::inside(begin, end);
  if (!r.empty()) madvise(r.start(), r.bytes(), MADV_DONTNEED);
#else
  (void)begin;
  (void)end;
#endif
}

// Makes the pages that hold [begin, end) of a map_zeroed array resident, without a fault per page
// where the kernel can. Their contents stay zero.
inline void populate(void* begin, void* end) noexcept {
  const PageRange r = PageRange::covering(begin, end);
  if (r.empty()) return;
#if defined(__linux__)
  constexpr int kPopulateWrite = 23;  // MADV_POPULATE_WRITE, missing from older headers
  if (madvise(r.start(), r.bytes(), kPopulateWrite) == 0) return;
#endif
  // A write of zero to zero memory changes nothing but faults the page in. Only bytes inside
  // [begin, end) are written, so threads populating disjoint ranges never write the same byte.
  const uintptr_t first = reinterpret_cast<uintptr_t>(begin);
  for (uintptr_t p = r.b; p < r.e; p += PageRange::kPage) *reinterpret_cast<volatile char*>(p < first ? first : p) = 0;
}

// Populates items 0, 1, 2, ... (each a range of pages, by populate_item) on a thread of idle priority
// (Linux's SCHED_IDLE: it runs only on a core that would otherwise idle), until finish(), which does
// the items it had not reached on `threads` threads. Every item is populated exactly once. Where
// idle priority is missing or refused, no thread runs and finish() does them all.
class IdlePopulator {
 public:
  IdlePopulator(int64_t items, std::function<void(int64_t)> populate_item)
      : items_(std::max<int64_t>(items, 0)), populate_(std::move(populate_item)) {
#if defined(__linux__) && defined(SCHED_IDLE)
    if (items_ > 0) thread_ = std::thread([this] { run(); });
#endif
  }
  ~IdlePopulator() { stop(); }
  IdlePopulator(const IdlePopulator&) = delete;
  IdlePopulator& operator=(const IdlePopulator&) = delete;

  void finish(int threads) {
    stop();
    const int64_t from = std::min(next_.load(), items_);
    next_ = items_;
    parallel_chunks(items_ - from, 16, threads, [&](int64_t b, int64_t e, int) {
      for (int64_t i = b; i < e; ++i) populate_(from + i);
    });
  }

 private:
  void run() {
#if defined(__linux__) && defined(SCHED_IDLE)
    sched_param idle{};
    if (pthread_setschedparam(pthread_self(), SCHED_IDLE, &idle) != 0) return;
#endif
    while (!stop_.load(std::memory_order_relaxed)) {
      const int64_t i = next_.fetch_add(1);
      if (i >= items_) return;
      populate_(i);
    }
  }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

  const int64_t items_;
  std::function<void(int64_t)> populate_;
  std::atomic<int64_t> next_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace cfkit
