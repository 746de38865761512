#pragma once
#include <cstdint>
#include <limits>
#include <vector>

#include "common/context.hpp"
#include "model/model.hpp"
#include "sparse/topk.hpp"

namespace cfkit {

struct TopK {
  int64_t rows = 0;
  int k = 0;
  std::vector<int32_t> ids;  // rows * k, -1 where a row has fewer than k candidates
  std::vector<float> scores;
};

// Serving calls whose model estimates them under this run on the caller's thread (see
// Model::estimated_ns): short enough not to hold up other requests, and the hop to a worker thread
// costs more than such work. Measured on SANSA/Gowalla, 2-core AMD EPYC, one user per call: the
// hop took the median from 80 to 159-187 µs and the 99th percentile from 343 to 613-747 µs.
constexpr double kInlineBudgetNs = 500e3;

// Rows scored per pass, chosen so a thread's score buffer stays near 32 MiB.
int64_t score_batch_rows(int64_t n_items, int threads);

// The filters of a recommend call, each optional: per-row lists (one row per query row) and shared
// sets, of items never to return (exclude) or of the only items to return (include), and a least score.
struct RecommendFilters {
  const Csr* exclude = nullptr;
  const ItemBitset* exclude_all = nullptr;
  const Csr* include = nullptr;
  const ItemBitset* include_all = nullptr;
  float min_score = -std::numeric_limits<float>::infinity();
};

// The cold-start fallback: rows flagged in `rows` (one byte per query row: no known items, or an
// unknown user or query item) are ranked by `scores` (one per item: training counts, -inf for items
// never seen) under the same filters, the least score aside; with no scores they get nothing.
struct Fallback {
  const uint8_t* rows = nullptr;
  const float* scores = nullptr;
};

// Top-k for every row of `inputs`. With mask_input, the row's own items are never returned; the
// filters narrow the candidates further. A row gets k items whenever k candidates pass.
TopK recommend(const Model& model, const Csr& inputs, int k, bool mask_input, const RecommendFilters& filters, TrainContext& ctx,
               const int32_t* row_users = nullptr, const Fallback& fallback = {});

// Top-k most similar items for each query item (the item itself is excluded), with the same filters.
TopK similar_items(const Model& model, const std::vector<int32_t>& items, int k, const RecommendFilters& filters,
                   TrainContext& ctx, const Fallback& fallback = {});

}  // namespace cfkit
