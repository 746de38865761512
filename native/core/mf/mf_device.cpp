// train_mf's device path: the CPU trainer's preparation (relabelling by rating count, seeded shuffle,
// initial factors, centring), epochs on the device, validation RMSE and progress on the host.
#include <algorithm>
#include <cmath>

#include "common/error.hpp"
#include "mf/mf.hpp"
#include "mf/mf_prep.hpp"
#include "mf/mf_pruning.hpp"

namespace cfkit {

namespace {

// Rearranges and cuts the host copy of the factors with the CPU trainer's code; lengths are copied
// into the job's own arrays, whose addresses the device keeps.
void prune_on_host(MfDeviceJob& job, double rate, int threads, std::vector<int>& dim_order) {
  mf::Side P, Q;
  P.rows = job.users;
  Q.rows = job.items;
  P.k = Q.k = job.k;
  P.f32.swap(job.p);
  Q.f32.swap(job.q);
  mf::rearrange_and_prune(P, Q, rate, threads, dim_order);
  P.f32.swap(job.p);
  Q.f32.swap(job.q);
  std::copy(P.length.begin(), P.length.end(), job.user_len.begin());
  std::copy(Q.length.begin(), Q.length.end(), job.item_len.begin());
  job.upload = true;
}

// Factors per update under the current lengths (the reported "active factors").
double mean_active(const MfDeviceJob& job) {
  double s = 0;
  for (const mf::Rating& x : job.ratings) s += std::min(job.user_len[x.u], job.item_len[x.i]);
  return job.ratings.empty() ? 0.0 : s / double(job.ratings.size());
}

}  // namespace

MfTrainResult train_mf_on_device(const Csr& ratings, const Csr* valid, const MfOptions& o, TrainContext& ctx,
                                 const std::function<void(const MfEpoch&)>& on_epoch, const MfDeviceTrain& device) {
  const int64_t U = ratings.rows, I = ratings.cols;
  const int k = o.factors;
  require(U > 0 && I > 0 && ratings.nnz() > 0, "MF: the rating matrix is empty");
  require(k % 32 == 0 && k >= 32 && k <= 256, "MF on CUDA needs factors a multiple of 32 in [32, 256]");
  require(o.epochs >= 1, "MF: epochs must be >= 1");
  const bool pruning = o.prune_rate > 0;
  require(!pruning || o.precision == MfPrecision::Fp16,
          "MF on CUDA: pruning keeps factors in fp16 for the tensor cores; use precision fp16");
  require(!pruning || o.prune_rearrange_every >= 1, "MF: pruning.rearrangeEvery must be >= 1");
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
  mf::init_factors(rng, o.init_uniform, o.init_scale, o.init_std, k, job.p.data(), job.p.size(), ctx.threads());
  mf::init_factors(rng, o.init_uniform, o.init_scale, o.init_std, k, job.q.data(), job.q.size(), ctx.threads());

  job.pruned = pruning;
  if (pruning) {
    job.user_len.assign(size_t(U), static_cast<uint16_t>(k));
    job.item_len.assign(size_t(I), static_cast<uint16_t>(k));
  }
  std::vector<int> dim_order(k);
  for (int d = 0; d < k; ++d) dim_order[d] = d;
  double active = k;

  MfTrainResult res;
  const bool validate = valid && valid->nnz() > 0;
  device(job, o, validate || pruning, [&](MfEpoch& ep) {
    require_finite_epoch(ep, o);
    ep.mean_active_factors = active;
    if (validate)
      ep.valid_rmse = mf::validation_rmse(*valid, order, mean, k, [&](int side, int32_t row) -> const float* {
        return side == 0 ? &job.p[size_t(row) * k] : &job.q[size_t(row) * k];
      });
    res.epochs.push_back(ep);
    report_mf_epoch(ctx, ep, o.epochs);
    if (on_epoch) on_epoch(ep);
    ctx.check_abort();
    // The same schedule as the CPU trainer: before epochs rearrange_every, 2·rearrange_every, ...
    if (pruning && ep.epoch < o.epochs && ep.epoch % o.prune_rearrange_every == 0) {
      prune_on_host(job, o.prune_rate, ctx.threads(), dim_order);
      active = mean_active(job);
    }
  });
  // Back to the caller's user and item order.
  std::vector<float> p(size_t(U) * k), q(size_t(I) * k);
  for (int64_t u = 0; u < U; ++u) std::copy_n(&job.p[size_t(order.user_new[u]) * k], k, &p[size_t(u) * k]);
  for (int64_t i = 0; i < I; ++i) std::copy_n(&job.q[size_t(order.item_new[i]) * k], k, &q[size_t(i) * k]);
  res.model = std::make_shared<MfModel>(U, I, k, std::move(p), std::move(q), std::max(o.l2_user, 1e-6), mean);
  res.groups_total = o.precision == MfPrecision::Mascot ? job.user_groups + job.item_groups : 0;
  res.dimension_order = dim_order;
  return res;
}

}  // namespace cfkit
