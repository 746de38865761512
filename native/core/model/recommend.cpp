#include "model/recommend.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <memory>
#include <string>

#include "common/parallel.hpp"
#include "sparse/topk.hpp"

namespace cfkit {

int64_t score_batch_rows(int64_t n_items, int threads) {
  int64_t per_thread = (int64_t(32) << 20) / (4 * std::max<int64_t>(n_items, 1));
  return std::max<int64_t>(1, std::min<int64_t>(4096, per_thread)) * std::max(threads, 1);
}

namespace {

void check_filters(const RecommendFilters& f, int64_t rows, int64_t n) {
  require(!f.exclude || (f.exclude->rows == rows && f.exclude->cols == n), "exclude must have one row per query row");
  require(!f.include || (f.include->rows == rows && f.include->cols == n), "include must have one row per query row");
  require(!f.exclude_all || f.exclude_all->size() == n, "the exclude filter is for another number of items");
  require(!f.include_all || f.include_all->size() == n, "the include filter is for another number of items");
  require(!std::isnan(f.min_score), "minScore must not be NaN");
}

// One row's top k from its dense scores: the row's exclusions go into `mask` (already advanced).
void filtered_topk(const float* scores, int64_t n, int64_t r, int k, ItemMask& mask, const RecommendFilters& f, int32_t* ids,
                   float* out) {
  if (f.exclude)
    for (int64_t p = f.exclude->indptr[r]; p < f.exclude->indptr[r + 1]; ++p) mask.set(f.exclude->indices[p]);
  const TopKFilter tf{f.include_all, f.exclude_all, f.min_score};
  if (f.include)
    topk_among(scores, f.include->indices.data() + f.include->indptr[r], f.include->row_size(r), k, mask, ids, out, tf);
  else
    topk_row(scores, n, k, mask, ids, out, tf);
}

// One row's top k: from the model's scores, or for a fallback row from the fallback's.
void row_topk(const float* model_scores, int64_t n, int64_t r, int k, ItemMask& mask, const RecommendFilters& f, const Fallback& fb,
              int32_t* ids, float* out) {
  if (!(fb.rows && fb.rows[r])) return filtered_topk(model_scores, n, r, k, mask, f, ids, out);
  if (!fb.scores) {
    std::fill(ids, ids + k, -1);
    std::fill(out, out + k, -std::numeric_limits<float>::infinity());
    return;
  }
  RecommendFilters counts = f;
  counts.min_score = -std::numeric_limits<float>::infinity();  // minScore is about model scores
  filtered_topk(fb.scores, n, r, k, mask, counts, ids, out);
}

// Rows of a model with sparse rows, one at a time: a row that reaches few items is ranked from its
// listing and never touches a catalogue-sized buffer; the others (and fallback rows) are ranked
// densely, with buffers made on the first such row.
void rank_sparse_rows(const Model& model, const Csr& inputs, int64_t b, int64_t e, int k, bool mask_input,
                      const RecommendFilters& f, const Fallback& fb, const int32_t* row_users, TrainContext& ctx, TopK& out) {
  const int64_t n = model.num_items();
  const TopKFilter tf{f.include_all, f.exclude_all, f.min_score};
  SparseRow row;
  std::vector<int32_t> masked;
  std::vector<float> dense;
  std::unique_ptr<ItemMask> mask;
  for (int64_t r = b; r < e; ++r) {
    if ((r - b) % 64 == 63) ctx.check_abort();
    int32_t* ids = &out.ids[r * k];
    float* scores = &out.scores[r * k];
    const bool fallback_row = fb.rows && fb.rows[r];
    if (!fallback_row && !f.include && model.score_sparse_row(inputs, r, row)) {
      masked.clear();
      if (mask_input) masked.assign(inputs.indices.begin() + inputs.indptr[r], inputs.indices.begin() + inputs.indptr[r + 1]);
      if (f.exclude) {
        const auto mid = masked.size();
        masked.insert(masked.end(), f.exclude->indices.begin() + f.exclude->indptr[r], f.exclude->indices.begin() + f.exclude->indptr[r + 1]);
        std::inplace_merge(masked.begin(), masked.begin() + mid, masked.end());  // both rows are sorted
      }
      topk_sparse(row.items.data(), row.scores.data(), int64_t(row.items.size()), n, masked.data(), int64_t(masked.size()), k, ids,
                  scores, tf);
      continue;
    }
    if (!mask) {
      dense.resize(size_t(n));
      mask = std::make_unique<ItemMask>(n);
    }
    if (!fallback_row) model.score(inputs, row_users, r, r + 1, dense.data());
    mask->next_row();
    if (mask_input)
      for (int64_t p = inputs.indptr[r]; p < inputs.indptr[r + 1]; ++p) mask->set(inputs.indices[p]);
    row_topk(dense.data(), n, r, k, *mask, f, fb, ids, scores);
  }
}

}  // namespace

TopK recommend(const Model& model, const Csr& inputs, int k, bool mask_input, const RecommendFilters& filters, TrainContext& ctx,
               const int32_t* row_users, const Fallback& fallback) {
  const int64_t n = model.num_items();
  require(k >= 1, "k must be at least 1");
  require(inputs.cols == n, "inputs have " + std::to_string(inputs.cols) + " items but the model has " + std::to_string(n));
  check_filters(filters, inputs.rows, n);
  TopK out;
  out.rows = inputs.rows;
  out.k = k;
  out.ids.assign(inputs.rows * k, -1);
  out.scores.assign(inputs.rows * k, 0.f);
  const int threads = ctx.threads();
  const int64_t per_thread = std::max<int64_t>(1, score_batch_rows(n, threads) / threads);
  parallel_chunks(inputs.rows, per_thread, threads, [&](int64_t b, int64_t e, int) {
    ctx.check_abort();
    if (model.has_sparse_rows()) return rank_sparse_rows(model, inputs, b, e, k, mask_input, filters, fallback, row_users, ctx, out);
    std::vector<float> buf((e - b) * n);
    ItemMask mask(n);
    model.score(inputs, row_users, b, e, buf.data());
    for (int64_t r = b; r < e; ++r) {
      mask.next_row();
      if (mask_input)
        for (int64_t p = inputs.indptr[r]; p < inputs.indptr[r + 1]; ++p) mask.set(inputs.indices[p]);
      row_topk(buf.data() + (r - b) * n, n, r, k, mask, filters, fallback, &out.ids[r * k], &out.scores[r * k]);
    }
  });
  ctx.check_abort();
  return out;
}

TopK similar_items(const Model& model, const std::vector<int32_t>& items, int k, const RecommendFilters& filters,
                   TrainContext& ctx, const Fallback& fallback) {
  const int64_t n = model.num_items();
  require(k >= 1, "k must be at least 1");
  TopK out;
  out.rows = static_cast<int64_t>(items.size());
  out.k = k;
  out.ids.assign(out.rows * k, -1);
  out.scores.assign(out.rows * k, 0.f);
  for (int32_t it : items) require(it >= 0 && it < n, "item index out of range");
  check_filters(filters, out.rows, n);
  if (model.has_sparse_rows()) {
    // The item's own row as the input: its similar items are what it scores, itself masked.
    const Csr queries = one_hot_rows(n, items);
    parallel_chunks(out.rows, 16, ctx.threads(), [&](int64_t b, int64_t e, int) {
      ctx.check_abort();
      rank_sparse_rows(model, queries, b, e, k, true, filters, fallback, nullptr, ctx, out);
    });
    ctx.check_abort();
    return out;
  }
  parallel_chunks(out.rows, 16, ctx.threads(), [&](int64_t b, int64_t e, int) {
    std::vector<float> row(n);
    ItemMask mask(n);
    for (int64_t r = b; r < e; ++r) {
      ctx.check_abort();
      model.item_similarity(items[r], row.data());
      mask.next_row();
      mask.set(items[r]);
      row_topk(row.data(), n, r, k, mask, filters, fallback, &out.ids[r * k], &out.scores[r * k]);
    }
  });
  return out;
}

}  // namespace cfkit
