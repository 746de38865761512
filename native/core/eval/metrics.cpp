#include "eval/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>
#include <string>

#include "common/parallel.hpp"
#include "model/recommend.hpp"
#include "sparse/topk.hpp"

namespace cfkit {

namespace {

double auc_for_row(const float* scores, int64_t n, const ItemMask& masked, const ItemMask& is_target, std::vector<float>& neg) {
  neg.clear();
  for (int64_t i = 0; i < n; ++i)
    if (!masked.test(i) && !is_target.test(i)) neg.push_back(std::isnan(scores[i]) ? -std::numeric_limits<float>::infinity() : scores[i]);
  if (neg.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::sort(neg.begin(), neg.end());
  double sum = 0;
  int64_t pos = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (!is_target.test(i) || masked.test(i)) continue;
    float s = std::isnan(scores[i]) ? -std::numeric_limits<float>::infinity() : scores[i];
    auto lo = std::lower_bound(neg.begin(), neg.end(), s);
    auto hi = std::upper_bound(lo, neg.end(), s);
    sum += double(lo - neg.begin()) + 0.5 * double(hi - lo);
    ++pos;
  }
  if (pos == 0) return std::numeric_limits<double>::quiet_NaN();
  return sum / (double(pos) * double(neg.size()));
}

}  // namespace

void metrics_for_row(const float* scores, int64_t n_items, const int32_t* input, int64_t n_input, const int32_t* target,
                     int64_t n_target, const std::vector<MetricSpec>& metrics, const std::vector<float>* propensity,
                     double* out, MetricScratch& scratch) {
  int max_k = 1;
  for (auto& m : metrics) max_k = std::max(max_k, m.kind == MetricKind::Auc ? 1 : m.k);
  max_k = static_cast<int>(std::min<int64_t>(max_k, std::max<int64_t>(n_items, 1)));
  ItemMask& masked = scratch.masked;
  ItemMask& is_target = scratch.is_target;
  masked.next_row();
  is_target.next_row();
  for (int64_t p = 0; p < n_input; ++p) masked.set(input[p]);
  for (int64_t p = 0; p < n_target; ++p) is_target.set(target[p]);
  std::vector<int32_t>& ids = scratch.ids;
  ids.resize(max_k);
  scratch.top_scores.resize(max_k);
  topk_row(scores, n_items, max_k, masked, ids.data(), scratch.top_scores.data());

  const double T = static_cast<double>(n_target);
  std::vector<double>& sorted_prop = scratch.sorted_prop;
  for (size_t mi = 0; mi < metrics.size(); ++mi) {
    const MetricSpec& m = metrics[mi];
    const int k = std::min(m.k, max_k);
    double hits = 0, dcg = 0, ap = 0;
    if (m.kind != MetricKind::Auc) {
      for (int r = 0; r < k; ++r) {
        if (ids[r] < 0 || !is_target.test(ids[r])) continue;
        hits += 1;
        dcg += 1.0 / std::log2(r + 2.0);
        ap += hits / (r + 1.0);
      }
    }
    const double cut = std::min<double>(m.k, T);
    double v = 0;
    switch (m.kind) {
      case MetricKind::RecallLiang: v = hits / cut; break;
      case MetricKind::RecallBars: v = hits / T; break;
      case MetricKind::Ndcg: {
        double idcg = 0;
        for (int r = 0; r < static_cast<int>(cut); ++r) idcg += 1.0 / std::log2(r + 2.0);
        v = dcg / idcg;
        break;
      }
      case MetricKind::HitRate: v = hits > 0 ? 1.0 : 0.0; break;
      case MetricKind::Precision: v = hits / m.k; break;
      case MetricKind::Map: v = ap / cut; break;
      case MetricKind::Auc: v = auc_for_row(scores, n_items, masked, is_target, scratch.negatives); break;
      case MetricKind::Psp: {
        const std::vector<float>& w = *propensity;
        double num = 0;
        for (int r = 0; r < k; ++r)
          if (ids[r] >= 0 && is_target.test(ids[r])) num += w[ids[r]];
        num /= cut;  // ∞-AE divides the numerator (only) by min(|T|, k)
        sorted_prop.clear();
        for (int64_t p = 0; p < n_target; ++p) sorted_prop.push_back(w[target[p]]);
        std::sort(sorted_prop.begin(), sorted_prop.end(), std::greater<double>());
        double den = 0;
        for (int r = 0; r < static_cast<int>(cut); ++r) den += sorted_prop[r];
        v = den > 0 ? num / den : 0;
        break;
      }
      case MetricKind::Coverage: v = 0; break;
    }
    out[mi] = v;
  }
}

EvalResult evaluate(const Model& model, const Csr& inputs, const Csr& targets, const std::vector<MetricSpec>& metrics,
                    const std::vector<float>* propensity, TrainContext& ctx, const int32_t* row_users) {
  const int64_t n = model.num_items();
  require(inputs.cols == n && targets.cols == n, "inputs and targets must use the model's item space (" + std::to_string(n) + " items)");
  require(inputs.rows == targets.rows, "inputs and targets must have the same users");
  require(!metrics.empty(), "no metrics requested");
  for (auto& m : metrics) {
    require(m.kind == MetricKind::Auc || m.k >= 1, "metric cut-off k must be at least 1");
    if (m.kind == MetricKind::Psp)
      require(propensity && static_cast<int64_t>(propensity->size()) == n, "psp needs one propensity per item");
  }
  const size_t M = metrics.size();
  EvalResult res;
  res.users = inputs.rows;
  res.per_user.assign(inputs.rows * M, 0.0);
  res.valid.assign(inputs.rows, 0);
  res.coverage.assign(M, 0.0);
  const int threads = ctx.threads();
  std::vector<std::vector<uint8_t>> covered(M);
  for (size_t mi = 0; mi < M; ++mi)
    if (metrics[mi].kind == MetricKind::Coverage) covered[mi].assign(n, 0);
  std::mutex cover_mutex;
  const int64_t chunk = std::max<int64_t>(1, score_batch_rows(n, threads) / threads);
  std::atomic<int64_t> done{0};
  parallel_chunks(inputs.rows, chunk, threads, [&](int64_t b, int64_t e, int tid) {
    ctx.check_abort();
    std::vector<float> buf((e - b) * n);
    model.score(inputs, row_users, b, e, buf.data());
    MetricScratch scratch(n);
    const std::vector<int32_t>& ids = scratch.ids;
    std::vector<std::vector<uint8_t>> local_cover(M);
    for (size_t mi = 0; mi < M; ++mi)
      if (!covered[mi].empty()) local_cover[mi].assign(n, 0);
    for (int64_t r = b; r < e; ++r) {
      const int64_t nt = targets.row_size(r);
      metrics_for_row(buf.data() + (r - b) * n, n, &inputs.indices[inputs.indptr[r]], inputs.row_size(r),
                      nt ? &targets.indices[targets.indptr[r]] : nullptr, nt, metrics, propensity,
                      &res.per_user[r * M], scratch);
      res.valid[r] = nt > 0 ? 1 : 0;
      for (size_t mi = 0; mi < M; ++mi) {
        if (local_cover[mi].empty()) continue;
        for (int i = 0; i < metrics[mi].k && i < static_cast<int>(ids.size()); ++i)
          if (ids[i] >= 0) local_cover[mi][ids[i]] = 1;
      }
    }
    {
      std::lock_guard<std::mutex> lock(cover_mutex);
      for (size_t mi = 0; mi < M; ++mi)
        for (size_t i = 0; i < local_cover[mi].size(); ++i) covered[mi][i] |= local_cover[mi][i];
    }
    int64_t d = done += e - b;
    if (tid == 0) ctx.report("evaluate", double(d) / double(inputs.rows));
  });
  ctx.check_abort();
  for (size_t mi = 0; mi < M; ++mi) {
    if (covered[mi].empty()) continue;
    int64_t c = 0;
    for (uint8_t x : covered[mi]) c += x;
    res.coverage[mi] = n ? double(c) / double(n) : 0.0;
  }
  return res;
}

}  // namespace cfkit
