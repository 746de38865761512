// The one top-k and masking routine. Masked items are excluded outright (never scored as 0), so a
// masked item cannot appear even when a row has fewer than k candidates; empty slots are -1 / -inf.
#pragma once
#include <cstdint>
#include <vector>

namespace cfkit {

// Reusable per-thread scratch: a generation-stamped mask so clearing costs nothing per row.
class ItemMask {
 public:
  explicit ItemMask(int64_t n_items) : stamp_(n_items, 0) {}
  void next_row() {
    if (++gen_ == 0) {  // wrapped: reset stamps once every 2^32 rows
      std::fill(stamp_.begin(), stamp_.end(), 0);
      gen_ = 1;
    }
  }
  void set(int32_t item) { stamp_[item] = gen_; }
  bool test(int64_t item) const { return stamp_[item] == gen_; }

 private:
  std::vector<uint32_t> stamp_;
  uint32_t gen_ = 0;
};

// Writes the k best (highest score; ties to the lower item id) unmasked, finite-scored items of one
// row, best first. Returns how many were found (<= k); the rest of out_ids is -1.
int topk_row(const float* scores, int64_t n_items, int k, const ItemMask& mask, int32_t* out_ids,
             float* out_scores);

}  // namespace cfkit
