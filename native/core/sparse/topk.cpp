#include "sparse/topk.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace cfkit {

namespace {
struct Cand {
  float s;
  int32_t id;
};
// "a ranks before b": higher score, then lower id.
inline bool better(const Cand& a, const Cand& b) { return a.s > b.s || (a.s == b.s && a.id < b.id); }

// Keeps the k best of the candidates it is offered.
class Best {
 public:
  explicit Best(int k) : k_(k) { heap_.reserve(k); }
  bool full() const { return static_cast<int>(heap_.size()) == k_; }
  float worst_score() const { return heap_.front().s; }
  void offer(float s, int64_t i) {
    const Cand c{s, static_cast<int32_t>(i)};
    if (static_cast<int>(heap_.size()) < k_) {
      heap_.push_back(c);
      std::push_heap(heap_.begin(), heap_.end(), cmp);
    } else if (better(c, heap_.front())) {
      std::pop_heap(heap_.begin(), heap_.end(), cmp);
      heap_.back() = c;
      std::push_heap(heap_.begin(), heap_.end(), cmp);
    }
  }
  int write(int32_t* out_ids, float* out_scores) {
    std::sort(heap_.begin(), heap_.end(), cmp);
    for (size_t r = 0; r < heap_.size(); ++r) {
      out_ids[r] = heap_[r].id;
      out_scores[r] = heap_[r].s;
    }
    return static_cast<int>(heap_.size());
  }

 private:
  // Min-heap on "better": the heap top is the worst kept candidate.
  static bool cmp(const Cand& a, const Cand& b) { return better(a, b); }
  int k_;
  std::vector<Cand> heap_;
};

inline bool eligible(float s, int64_t i, const ItemMask& mask, const TopKFilter& f) {
  if (!(s >= f.min_score) || !(s > -std::numeric_limits<float>::infinity()) || mask.test(i)) return false;  // NaN fails too
  if (f.allowed && !f.allowed->test(i)) return false;
  return !(f.blocked && f.blocked->test(i));
}

void clear(int k, int32_t* out_ids, float* out_scores) {
  std::fill(out_ids, out_ids + k, -1);
  std::fill(out_scores, out_scores + k, -std::numeric_limits<float>::infinity());
}
}  // namespace

int64_t ItemBitset::count() const {
  int64_t c = 0;
  for (uint64_t w : words_) c += __builtin_popcountll(w);
  return c;
}

int topk_row(const float* scores, int64_t n_items, int k, const ItemMask& mask, int32_t* out_ids, float* out_scores,
             const TopKFilter& filter) {
  clear(k, out_ids, out_scores);
  if (k <= 0) return 0;
  Best best(k);
  for (int64_t i = 0; i < n_items; ++i) {
    const float s = scores[i];
    // Items come in increasing id, so once k are kept, one that does not score above the worst of
    // them cannot enter: skip it before the mask and filter lookups (most items of a sparse model).
    if (best.full() && !(s > best.worst_score())) continue;
    if (eligible(s, i, mask, filter)) best.offer(s, i);
  }
  return best.write(out_ids, out_scores);
}

int topk_among(const float* scores, const int32_t* candidates, int64_t count, int k, const ItemMask& mask, int32_t* out_ids,
               float* out_scores, const TopKFilter& filter) {
  clear(k, out_ids, out_scores);
  if (k <= 0) return 0;
  Best best(k);
  for (int64_t c = 0; c < count; ++c) {
    const int32_t i = candidates[c];
    if (eligible(scores[i], i, mask, filter)) best.offer(scores[i], i);
  }
  return best.write(out_ids, out_scores);
}

}  // namespace cfkit
