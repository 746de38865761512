#pragma once
#include <cstdint>
#include <vector>

#include "common/context.hpp"
#include "model/model.hpp"

namespace cfkit {

struct TopK {
  int64_t rows = 0;
  int k = 0;
  std::vector<int32_t> ids;  // rows * k, -1 where a row has fewer than k candidates
  std::vector<float> scores;
};

// Rows scored per pass, chosen so a thread's score buffer stays near 32 MiB.
int64_t score_batch_rows(int64_t n_items, int threads);

// Top-k for every row of `inputs`. With mask_input, the row's own items are never returned; items in
// the matching row of `exclude` (when given) are never returned either.
TopK recommend(const Model& model, const Csr& inputs, int k, bool mask_input, const Csr* exclude, TrainContext& ctx,
               const int32_t* row_users = nullptr);

// Top-k most similar items for each query item (the item itself is excluded).
TopK similar_items(const Model& model, const std::vector<int32_t>& items, int k, const Csr* exclude,
                   TrainContext& ctx);

}  // namespace cfkit
