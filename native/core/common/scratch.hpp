// Scoring scratch that outlives one call on the calling thread. A one-user request on a large
// catalogue would otherwise allocate its score row, its item mask (and, for SANSA, two dense
// accumulators) afresh on every call, and the kernel would fault those pages in each time.
// Each thread keeps at most kKeepBytes per slot; a bigger request gets memory of its own for the
// call. Threads that cfkit starts for one call free theirs when they end, so what stays is at most
// kSlots × kKeepBytes on each thread that serves requests (a libuv worker).
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <vector>

namespace cfkit {

enum class ScratchSlot { ScoreRows = 0, Latent, Items, Mask, Count };

namespace scratch_detail {
constexpr size_t kKeepBytes = size_t(2) << 20;
constexpr int kSlots = static_cast<int>(ScratchSlot::Count);
struct Slot {
  std::vector<uint64_t> words;  // 8-byte aligned storage for any scalar type
  bool in_use = false;
  size_t dirty = 0;             // words at and after this index are zero
};
inline Slot& slot(ScratchSlot s) {
  thread_local Slot slots[kSlots];
  return slots[static_cast<int>(s)];
}
}  // namespace scratch_detail

// n zeroed values of T for the length of one scope. With keep_clean, the caller promises to leave
// the values zero again before the scope ends (as SANSA's accumulators do), which spares the next
// call the clearing; call dirty() if it may not have.
template <class T>
class Scratch {
 public:
  Scratch(ScratchSlot which, size_t n, bool keep_clean = false) : n_(n) {
    const size_t bytes = n * sizeof(T), words = (bytes + 7) / 8;
    scratch_detail::Slot& s = scratch_detail::slot(which);
    if (bytes > scratch_detail::kKeepBytes || s.in_use) {
      own_.assign(words, 0);
      data_ = reinterpret_cast<T*>(own_.data());
      return;
    }
    slot_ = &s;
    s.in_use = true;
    if (s.words.size() < words) s.words.resize(words, 0);
    std::memset(s.words.data(), 0, (s.dirty < words ? s.dirty : words) * 8);
    // Afterwards the caller's words are zero again (keep_clean) or may not be.
    s.dirty = keep_clean ? (s.dirty > words ? s.dirty : 0) : (s.dirty > words ? s.dirty : words);
    words_ = words;
    data_ = reinterpret_cast<T*>(s.words.data());
  }
  ~Scratch() {
    if (!slot_) return;
    if (std::uncaught_exceptions() > exceptions_) dirty();  // a keep_clean caller cut short
    slot_->in_use = false;
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;

  T* data() { return data_; }
  size_t size() const { return n_; }
  // The values may not all be zero any more (an early exit): the next user clears them.
  void dirty() {
    if (slot_ && slot_->dirty < words_) slot_->dirty = words_;
  }

 private:
  size_t n_, words_ = 0;
  int exceptions_ = std::uncaught_exceptions();
  T* data_ = nullptr;
  scratch_detail::Slot* slot_ = nullptr;
  std::vector<uint64_t> own_;
};

}  // namespace cfkit
