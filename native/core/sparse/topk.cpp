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
  int32_t worst_id() const { return heap_.front().id; }
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

template <class Mask>
inline bool eligible(float s, int64_t i, const Mask& mask, const TopKFilter& f) {
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

namespace {
// The masked items of a sparse row, sorted: a lookup costs log(count), not a mark per catalogue item.
struct SortedMask {
  const int32_t* begin;
  const int32_t* end;
  bool test(int64_t i) const { return std::binary_search(begin, end, static_cast<int32_t>(i)); }
};
}  // namespace

int topk_sparse(const int32_t* items, const float* scores, int64_t count, int64_t n_items, const int32_t* masked,
                int64_t n_masked, int k, int32_t* out_ids, float* out_scores, const TopKFilter& filter) {
  clear(k, out_ids, out_scores);
  if (k <= 0) return 0;
  const SortedMask mask{masked, masked + n_masked};
  Best best(k);
  for (int64_t c = 0; c < count; ++c) {
    if (best.full() && !(scores[c] > best.worst_score())) continue;  // as in topk_row: items come in increasing id
    if (eligible(scores[c], items[c], mask, filter)) best.offer(scores[c], items[c]);
  }
  // The unlisted items all score 0, so in id order the first eligible ones are the best of them:
  // stop once none can enter (a kept item scores above 0, or 0 with a lower id).
  if (0.f >= filter.min_score) {
    int64_t next = 0;  // the next listed item, skipped here since it was offered with its own score
    for (int64_t i = 0; i < n_items; ++i) {
      if (next < count && items[next] == i) {
        ++next;
        continue;
      }
      if (best.full() && (best.worst_score() > 0.f || (best.worst_score() == 0.f && best.worst_id() < i))) break;
      if (eligible(0.f, i, mask, filter)) best.offer(0.f, i);
    }
  }
  return best.write(out_ids, out_scores);
}

}  // namespace cfkit
