// train_mf's device path: the CPU trainer's preparation (relabelling by rating count, seeded shuffle,
// initial factors, centring), epochs on the device, validation RMSE and progress on the host.
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
  const mf::CountOrder order = mf::count_order(ratings, o.mascot_user_groups, o.mascot_item_groups);
  const double mean = mf::rating_offset(ratings, o.center);
  MfDeviceJob job;
  job.users = U;
  job.items = I;
  job.k = k;
  job.ratings = mf::shuffled_ratings(ratings, order, mean, rng);
  job.user_group = order.user_group;
  job.item_group = order.item_group;
  job.user_groups = order.user_group.back() + 1;
  job.item_groups = order.item_group.back() + 1;
  job.p.resize(size_t(U) * k);
  job.q.resize(size_t(I) * k);
  mf::init_factors(rng, o.init_uniform, o.init_scale, o.init_std, k, job.p.data(), job.p.size());
  mf::init_factors(rng, o.init_uniform, o.init_scale, o.init_std, k, job.q.data(), job.q.size());

  MfTrainResult res;
  const bool validate = valid && valid->nnz() > 0;
  device(job, o, validate, [&](MfEpoch& ep) {
    ep.mean_active_factors = k;
    if (validate)
      ep.valid_rmse = mf::validation_rmse(*valid, order, mean, k, [&](int side, int32_t row) -> const float* {
        return side == 0 ? &job.p[size_t(row) * k] : &job.q[size_t(row) * k];
      });
    res.epochs.push_back(ep);
    report_mf_epoch(ctx, ep, o.epochs);
    if (on_epoch) on_epoch(ep);
    ctx.check_abort();
  });
  // Back to the caller's user and item order.
  std::vector<float> p(size_t(U) * k), q(size_t(I) * k);
  for (int64_t u = 0; u < U; ++u) std::copy_n(&job.p[size_t(order.user_new[u]) * k], k, &p[size_t(u) * k]);
  for (int64_t i = 0; i < I; ++i) std::copy_n(&job.q[size_t(order.item_new[i]) * k], k, &q[size_t(i) * k]);
  res.model = std::make_shared<MfModel>(U, I, k, std::move(p), std::move(q), std::max(o.l2_user, 1e-6), mean);
  res.groups_total = o.precision == MfPrecision::Mascot ? job.user_groups + job.item_groups : 0;
  for (int d = 0; d < k; ++d) res.dimension_order.push_back(d);
  return res;
}

}  // namespace cfkit
