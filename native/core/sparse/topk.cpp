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
}  // namespace

int topk_row(const float* scores, int64_t n_items, int k, const ItemMask& mask, int32_t* out_ids,
             float* out_scores) {
  std::fill(out_ids, out_ids + k, -1);
  std::fill(out_scores, out_scores + k, -std::numeric_limits<float>::infinity());
  if (k <= 0) return 0;
  // Min-heap on "better": the heap top is the worst kept candidate.
  std::vector<Cand> heap;
  heap.reserve(k);
  auto cmp = [](const Cand& a, const Cand& b) { return better(a, b); };
  for (int64_t i = 0; i < n_items; ++i) {
    float s = scores[i];
    if (!(s > -std::numeric_limits<float>::infinity()) || std::isnan(s) || mask.test(i)) continue;
    Cand c{s, static_cast<int32_t>(i)};
    if (static_cast<int>(heap.size()) < k) {
      heap.push_back(c);
      std::push_heap(heap.begin(), heap.end(), cmp);
    } else if (better(c, heap.front())) {
      std::pop_heap(heap.begin(), heap.end(), cmp);
      heap.back() = c;
      std::push_heap(heap.begin(), heap.end(), cmp);
    }
  }
  std::sort(heap.begin(), heap.end(), cmp);
  for (size_t r = 0; r < heap.size(); ++r) {
    out_ids[r] = heap[r].id;
    out_scores[r] = heap[r].s;
  }
  return static_cast<int>(heap.size());
}

}  // namespace cfkit
