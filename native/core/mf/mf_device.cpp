// train_mf's device path: the same preparation as the CPU trainer (seeded shuffle, MASCOT groups by
// rating count, initial factors), epochs on the device, validation RMSE and progress on the host.
#include <cmath>

#include "common/error.hpp"
#include "mf/mf.hpp"
#include "mf/mf_prep.hpp"

namespace cfkit {

MfTrainResult train_mf_on_device(const Csr& ratings, const Csr* valid, const MfOptions& o, TrainContext& ctx,
                                 const std::function<void(const MfEpoch&)>& on_epoch, const MfDeviceTrain& device) {
  const int64_t U = ratings.rows, I = ratings.cols;
  const int k = o.factors;
  require(U > 0 && I > 0 && ratings.nnz() > 0, "MF: the rating matrix is empty");
  require(k % 32 == 0 && k >= 32 && k <= 256, "MF on CUDA needs factors a multiple of 32 in [32, 256]");
  require(o.epochs >= 1, "MF: epochs must be >= 1");
  require(o.prune_rate == 0, "MF on CUDA: dynamic pruning runs on the CPU only (use device: 'cpu')");
  require(!valid || (valid->rows == U && valid->cols == I), "MF: validation ratings must use the training users and items");
  mf::SplitMix rng{o.seed};
  MfDeviceJob job;
  job.users = U;
  job.items = I;
  job.k = k;
  double mean = 0;
  if (o.center) {
    for (float v : ratings.values) mean += v;
    mean /= double(ratings.nnz());
  }
  job.u.reserve(ratings.nnz());
  job.i.reserve(ratings.nnz());
  job.r.reserve(ratings.nnz());
  for (int64_t u = 0; u < U; ++u)
    for (int64_t p = ratings.indptr[u]; p < ratings.indptr[u + 1]; ++p) {
      job.u.push_back(static_cast<int32_t>(u));
      job.i.push_back(ratings.indices[p]);
      job.r.push_back(static_cast<float>(double(ratings.values[p]) - mean));
    }
  for (int64_t t = ratings.nnz() - 1; t > 0; --t) {
    const int64_t s = static_cast<int64_t>(rng.below(t + 1));
    std::swap(job.u[t], job.u[s]);
    std::swap(job.i[t], job.i[s]);
    std::swap(job.r[t], job.r[s]);
  }
  if (o.precision == MfPrecision::Mascot) {
    std::vector<int64_t> ucount(U, 0), icount(I, 0);
    for (int64_t u = 0; u < U; ++u) ucount[u] = ratings.row_size(u);
    for (int32_t i : ratings.indices) icount[i]++;
    std::vector<int32_t> unew, inew, ugroup, igroup;
    mf::count_order(ucount, o.mascot_user_groups, unew, ugroup);
    mf::count_order(icount, o.mascot_item_groups, inew, igroup);
    job.user_group.resize(U);
    job.item_group.resize(I);
    for (int64_t u = 0; u < U; ++u) job.user_group[u] = ugroup[unew[u]];
    for (int64_t i = 0; i < I; ++i) job.item_group[i] = igroup[inew[i]];
    job.user_groups = ugroup.empty() ? 1 : ugroup.back() + 1;
    job.item_groups = igroup.empty() ? 1 : igroup.back() + 1;
  }
  job.p.resize(size_t(U) * k);
  job.q.resize(size_t(I) * k);
  mf::init_factors(rng, o.init_uniform, o.init_scale, o.init_std, k, job.p.data(), job.p.size());
  mf::init_factors(rng, o.init_uniform, o.init_scale, o.init_std, k, job.q.data(), job.q.size());

  MfTrainResult res;
  const bool validate = valid && valid->nnz() > 0;
  device(job, o, validate, [&](MfEpoch& ep) {
    ep.mean_active_factors = k;
    if (validate) {
      double s = 0;
      for (int64_t u = 0; u < U; ++u)
        for (int64_t p = valid->indptr[u]; p < valid->indptr[u + 1]; ++p) {
          const float* pu = &job.p[size_t(u) * k];
          const float* qi = &job.q[size_t(valid->indices[p]) * k];
          double dot = 0;
          for (int d = 0; d < k; ++d) dot += double(pu[d]) * qi[d];
          const double e = double(valid->values[p]) - mean - dot;
          s += e * e;
        }
      ep.valid_rmse = std::sqrt(s / double(valid->nnz()));
    }
    res.epochs.push_back(ep);
    report_mf_epoch(ctx, ep, o.epochs);
    if (on_epoch) on_epoch(ep);
    ctx.check_abort();
  });
  res.model = std::make_shared<MfModel>(U, I, k, std::move(job.p), std::move(job.q), std::max(o.l2_user, 1e-6), mean);
  res.groups_total = o.precision == MfPrecision::Mascot ? job.user_groups + job.item_groups : 0;
  for (int d = 0; d < k; ++d) res.dimension_order.push_back(d);
  return res;
}

}  // namespace cfkit
