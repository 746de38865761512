// The one top-k and masking routine. Masked items are excluded outright (never scored as 0), so a
// masked item cannot appear even when a row has fewer than k candidates; empty slots are -1 / -inf.
#pragma once
#include <cstddef>
#include <cstdint>
#include <limits>
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

// A fixed set of items as bits: the reusable filters of a recommend call (ItemFilter in JS), built
// once and tested per item at a bit's cost.
class ItemBitset {
 public:
  explicit ItemBitset(int64_t n_items) : n_(n_items), words_(size_t((n_items + 63) / 64), 0) {}
  int64_t size() const { return n_; }
  void set(int64_t item) { words_[size_t(item) >> 6] |= uint64_t(1) << (item & 63); }
  bool test(int64_t item) const { return (words_[size_t(item) >> 6] >> (item & 63)) & 1; }
  int64_t count() const;

 private:
  int64_t n_;
  std::vector<uint64_t> words_;
};

// What one row's top k may contain besides the mask: only `allowed` items when given, never
// `blocked` ones, and only scores of at least `min_score`.
struct TopKFilter {
  const ItemBitset* allowed = nullptr;
  const ItemBitset* blocked = nullptr;
  float min_score = -std::numeric_limits<float>::infinity();
};

// Writes the k best (highest score; ties to the lower item id) unmasked, finite-scored items of one
// row that pass `filter`, best first. Returns how many were found (<= k); the rest of out_ids is -1.
// A row gets k items whenever at least k candidates pass.
int topk_row(const float* scores, int64_t n_items, int k, const ItemMask& mask, int32_t* out_ids,
             float* out_scores, const TopKFilter& filter = {});

// The same over the listed candidate items only (a row's own `include` list).
int topk_among(const float* scores, const int32_t* candidates, int64_t count, int k, const ItemMask& mask, int32_t* out_ids,
               float* out_scores, const TopKFilter& filter = {});

// The same for a sparse row: `items` (ascending) score `scores` and every other item scores 0;
// `masked` (ascending) are the items the row must not return.
int topk_sparse(const int32_t* items, const float* scores, int64_t count, int64_t n_items, const int32_t* masked,
                int64_t n_masked, int k, int32_t* out_ids, float* out_scores, const TopKFilter& filter = {});

}  // namespace cfkit
