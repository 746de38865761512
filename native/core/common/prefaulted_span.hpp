// Address space reserved on both sides of a split point, whose pages a background thread makes
// resident while the caller's thread does single-threaded work, before the caller knows how much
// of them, and where, it will use. Built for the float32 factor (see sansa/supernodal_single.cpp):
// its layout is known only after the ordering, which is single-threaded (Gowalla: 1.7 s of COLAMD
// with a core idle), while making its 2.0 GB resident afterwards cost about 2.8 CPU seconds in the
// kernel on this virtual machine. Placed so that its last supernode starts at the split, the
// factor finds the pages next to the split, on both sides, already resident.
#pragma once
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <thread>

#include "common/zeroed_pages.hpp"

namespace cfkit {

class PrefaultedSpan {
 public:
  static constexpr size_t kStep = size_t(2) << 20;
  // Opened (made accessible) this much at a time: each mprotect holds the address-space lock for
  // writing, which stalls page faults of the thread being overlapped.
  static constexpr size_t kOpen = size_t(64) << 20;

  // Reserves `before` and `after` bytes around the split (each rounded up to 2 MiB) as inaccessible
  // address space, which commits no memory, and starts populating them outwards from the split, a
  // step on each side in turn, each step made accessible first, until stop() or until `cap` bytes in
  // all (or until the system refuses to commit more). The side before the split is offered to
  // huge pages and the side after is not (a wide last supernode touches only its lower triangle).
  // Where the reservation or the thread cannot be had, the span is empty and take() returns null.
  PrefaultedSpan(size_t before, size_t after, size_t cap) {
#if defined(__linux__)
    before_ = round_up(before);
    after_ = round_up(after);
    if (before_ == 0 || after_ == 0 || before_ > (size_t(-1) >> 2) || after_ > (size_t(-1) >> 2)) return;
    bytes_ = before_ + after_ + kStep;
    void* m = mmap(nullptr, bytes_, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return;
    mapping_ = static_cast<char*>(m);
    split_ = reinterpret_cast<char*>((reinterpret_cast<uintptr_t>(mapping_) + before_ + kStep - 1) & ~uintptr_t(kStep - 1));
#if defined(MADV_HUGEPAGE)
    madvise(split_ - before_, before_, MADV_HUGEPAGE);  // hints; failure is harmless
#endif
    no_huge_pages(split_, split_ + after_);
    cap_ = cap;
    try {
      thread_ = std::thread([this] { run(); });
    } catch (...) {
      release();
    }
#else
    (void)before;
    (void)after;
    (void)cap;
#endif
  }
  ~PrefaultedSpan() {
    stop();
    release();
  }
  PrefaultedSpan(const PrefaultedSpan&) = delete;
  PrefaultedSpan& operator=(const PrefaultedSpan&) = delete;

  // Stops the populating thread (after its current step) and waits for it.
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  // Bytes made resident before and after the split; final after stop().
  size_t populated_before() const { return done_before_.load(); }
  size_t populated_after() const { return done_after_.load(); }

  // Stops populating and hands over the span as a zeroed array of `count` T whose element `lead`
  // sits at the split. Populated pages outside it are given back. Returns null, and keeps the span,
  // when the array does not fit, the system will not commit it, or the span is empty.
  template <class T>
  ZeroedArray<T> take(size_t lead, size_t count) {
    if (!mapping_ || lead > count || lead > before_ / sizeof(T) || count - lead > after_ / sizeof(T)) return nullptr;
    stop();
    char* begin = split_ - lead * sizeof(T);
    char* end = split_ + (count - lead) * sizeof(T);
    if (!open(begin, end)) return nullptr;
    release_pages(split_ - populated_before(), begin);
    release_pages(end, split_ + std::max(populated_after(), size_t(end - split_)));
    ZeroedArray<T> out(reinterpret_cast<T*>(begin), ReleasePages{bytes_, mapping_});
    mapping_ = nullptr;
    return out;
  }

 private:
  static size_t round_up(size_t b) { return b > size_t(-1) - kStep ? 0 : (b + kStep - 1) / kStep * kStep; }
  void run() {
    size_t total = 0;
    while (!stop_.load(std::memory_order_relaxed) && total < cap_) {
      const size_t b = done_before_.load(), a = done_after_.load();
      if (b >= before_ && a >= after_) return;
      // The side that has less, so both grow alike; each step is one 2 MiB-aligned range.
      if (b < before_ && (b <= a || a >= after_)) {
        if (b % kOpen == 0 && !open(split_ - std::min(before_, b + kOpen), split_ - b)) return;
        populate(split_ - b - kStep, split_ - b);
        done_before_ = b + kStep;
      } else {
        if (a % kOpen == 0 && !open(split_ + a, split_ + std::min(after_, a + kOpen))) return;
        populate(split_ + a, split_ + a + kStep);
        done_after_ = a + kStep;
      }
      total += kStep;
    }
  }
  // Makes [b, e) readable and writable, which commits its memory; false when the system refuses.
  static bool open(char* b, char* e) {
#if defined(__linux__)
    const PageRange r = PageRange::covering(b, e);
    return r.empty() || mprotect(r.start(), r.bytes(), PROT_READ | PROT_WRITE) == 0;
#else
    (void)b;
    (void)e;
    return false;
#endif
  }
  void release() {
#if defined(__linux__)
    if (mapping_) munmap(mapping_, bytes_);
#endif
    mapping_ = nullptr;
  }

  char* mapping_ = nullptr;
  char* split_ = nullptr;
  size_t bytes_ = 0, before_ = 0, after_ = 0, cap_ = 0;
  std::atomic<size_t> done_before_{0}, done_after_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace cfkit
