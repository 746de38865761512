// Ranking metrics with the definitions of ALGORITHMS.md §0.2, computed per user over batches of
// scored rows. Users with no targets are skipped (valid = 0) rather than counted as zeros.
#pragma once
#include <cstdint>
#include <vector>

#include "common/context.hpp"
#include "model/model.hpp"
#include "sparse/topk.hpp"

namespace cfkit {

enum class MetricKind {
  RecallLiang,  // hits / min(k, |T|)   (Liang et al. 2018; ∞-AE calls this HR)
  RecallBars,   // hits / |T|           (BARS / LightGCN)
  Ndcg,         // DCG@k / IDCG@min(k, |T|)
  HitRate,      // 1 if any hit in top-k
  Precision,    // hits / k
  Map,          // sum over hit ranks r of precision@r, / min(k, |T|)
  Auc,          // per-user AUC of targets vs all other unmasked items (ties count 1/2)
  Psp,          // ∞-AE propensity-scored precision (needs item propensities)
  Coverage,     // catalog coverage of all top-k lists (one global value)
};

struct MetricSpec {
  MetricKind kind;
  int k = 0;  // unused for Auc
};

struct EvalResult {
  int64_t users = 0;
  std::vector<double> per_user;  // users x metrics, row-major
  std::vector<uint8_t> valid;    // users: 1 when the user had at least one target
  std::vector<double> coverage;  // per metric: fraction of items recommended (Coverage only)
};

// Scores every row of `inputs` with `model`, masks the row's inputs, and compares with `targets`
// (same rows, same item space). `propensity` is required for Psp and has one weight per item.
EvalResult evaluate(const Model& model, const Csr& inputs, const Csr& targets, const std::vector<MetricSpec>& metrics,
                    const std::vector<float>* propensity, TrainContext& ctx, const int32_t* row_users = nullptr);

// Buffers reused across the rows one thread evaluates (masks are n_items long).
struct MetricScratch {
  explicit MetricScratch(int64_t n_items) : masked(n_items), is_target(n_items) {}
  ItemMask masked, is_target;
  std::vector<int32_t> ids;
  std::vector<float> top_scores, negatives;
  std::vector<double> sorted_prop;
};

// The per-user metric values for one scored row; exposed so tests can check definitions directly.
// The row's top-k item ids are left in scratch.ids.
void metrics_for_row(const float* scores, int64_t n_items, const int32_t* input, int64_t n_input, const int32_t* target,
                     int64_t n_target, const std::vector<MetricSpec>& metrics, const std::vector<float>* propensity,
                     double* out, MetricScratch& scratch);

}  // namespace cfkit
