#include "model/recommend.hpp"

#include <algorithm>
#include <atomic>
#include <string>

#include "common/parallel.hpp"
#include "sparse/topk.hpp"

namespace cfkit {

int64_t score_batch_rows(int64_t n_items, int threads) {
  int64_t per_thread = (int64_t(32) << 20) / (4 * std::max<int64_t>(n_items, 1));
  return std::max<int64_t>(1, std::min<int64_t>(4096, per_thread)) * std::max(threads, 1);
}

TopK recommend(const Model& model, const Csr& inputs, int k, bool mask_input, const Csr* exclude, TrainContext& ctx,
               const int32_t* row_users) {
  const int64_t n = model.num_items();
  require(k >= 1, "k must be at least 1");
  require(inputs.cols == n, "inputs have " + std::to_string(inputs.cols) + " items but the model has " + std::to_string(n));
  require(!exclude || (exclude->rows == inputs.rows && exclude->cols == n), "exclude must have one row per input row");
  TopK out;
  out.rows = inputs.rows;
  out.k = k;
  out.ids.assign(inputs.rows * k, -1);
  out.scores.assign(inputs.rows * k, 0.f);
  const int threads = ctx.threads();
  const int64_t per_thread = std::max<int64_t>(1, score_batch_rows(n, threads) / threads);
  parallel_chunks(inputs.rows, per_thread, threads, [&](int64_t b, int64_t e, int) {
    ctx.check_abort();
    std::vector<float> buf((e - b) * n);
    ItemMask mask(n);
    model.score(inputs, row_users, b, e, buf.data());
    for (int64_t r = b; r < e; ++r) {
      mask.next_row();
      if (mask_input)
        for (int64_t p = inputs.indptr[r]; p < inputs.indptr[r + 1]; ++p) mask.set(inputs.indices[p]);
      if (exclude)
        for (int64_t p = exclude->indptr[r]; p < exclude->indptr[r + 1]; ++p) mask.set(exclude->indices[p]);
      topk_row(buf.data() + (r - b) * n, n, k, mask, &out.ids[r * k], &out.scores[r * k]);
    }
  });
  ctx.check_abort();
  return out;
}

TopK similar_items(const Model& model, const std::vector<int32_t>& items, int k, const Csr* exclude,
                   TrainContext& ctx) {
  const int64_t n = model.num_items();
  require(k >= 1, "k must be at least 1");
  TopK out;
  out.rows = static_cast<int64_t>(items.size());
  out.k = k;
  out.ids.assign(out.rows * k, -1);
  out.scores.assign(out.rows * k, 0.f);
  for (int32_t it : items) require(it >= 0 && it < n, "item index out of range");
  parallel_chunks(out.rows, 16, ctx.threads(), [&](int64_t b, int64_t e, int) {
    std::vector<float> row(n);
    ItemMask mask(n);
    for (int64_t r = b; r < e; ++r) {
      ctx.check_abort();
      model.item_similarity(items[r], row.data());
      mask.next_row();
      mask.set(items[r]);
      if (exclude)
        for (int64_t p = exclude->indptr[r]; p < exclude->indptr[r + 1]; ++p) mask.set(exclude->indices[p]);
      topk_row(row.data(), n, k, mask, &out.ids[r * k], &out.scores[r * k]);
    }
  });
  return out;
}

}  // namespace cfkit
