#include <cmath>
#include <random>

#include "harness.hpp"
#include "mf/mf.hpp"
#include "mf/mf_kernels.hpp"

using namespace cfkit;

namespace {
// Ratings from known rank-4 factors plus small noise, on about a third of the entries.
Csr low_rank(int64_t users, int64_t items, unsigned seed, Csr* holdout) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g(0.f, 1.f);
  std::uniform_real_distribution<float> u01(0.f, 1.f);
  const int r = 4;
  std::vector<float> p(users * r), q(items * r);
  for (auto& v : p) v = g(rng) * 0.7f;
  for (auto& v : q) v = g(rng) * 0.7f;
  Csr a, h;
  a.rows = h.rows = users;
  a.cols = h.cols = items;
  a.indptr.push_back(0);
  h.indptr.push_back(0);
  for (int64_t x = 0; x < users; ++x) {
    for (int64_t y = 0; y < items; ++y) {
      const float coin = u01(rng);
      if (coin > 0.4f) continue;
      float s = 3.f;
      for (int d = 0; d < r; ++d) s += p[x * r + d] * q[y * r + d];
      s += 0.05f * g(rng);
      Csr& dst = coin < 0.35f ? a : h;
      dst.indices.push_back(static_cast<int32_t>(y));
      dst.values.push_back(s);
    }
    a.indptr.push_back(static_cast<int64_t>(a.indices.size()));
    h.indptr.push_back(static_cast<int64_t>(h.indices.size()));
  }
  if (holdout) *holdout = h;
  return a;
}

MfOptions small_options() {
  MfOptions o;
  o.factors = 16;
  o.epochs = 60;
  o.lr_alpha = 0.02;
  o.lr_beta = 0.01;
  o.l2_user = o.l2_item = 0.01;
  o.init_std = 0.3;
  return o;
}
}  // namespace

TEST(half_conversion_matches_ieee_binary16) {
  const float in[6] = {1.0f, 65504.f, 0.1f, -2.5f, 5.96046448e-8f, 1e6f};
  uint16_t h[6];
  mf::float_to_half(in, h, 6);
  CHECK(h[0] == 0x3C00 && h[1] == 0x7BFF && h[2] == 0x2E66 && h[3] == 0xC100 && h[4] == 0x0001 && h[5] == 0x7C00);
  float back[6];
  mf::half_to_float(h, back, 6);
  CHECK(back[0] == 1.0f && back[1] == 65504.f && std::fabs(back[2] - 0.1f) < 1e-4f && back[3] == -2.5f);
}

TEST(mf_recovers_a_low_rank_matrix) {
  Csr hold;
  Csr train = low_rank(300, 200, 51, &hold);
  TrainContext ctx(2, nullptr, nullptr);
  MfTrainResult r = train_mf(train, &hold, small_options(), ctx, nullptr);
  const double rmse = mf_rmse(*r.model, hold, 2);
  CHECK(rmse < 0.25);  // the ratings' spread is about 1.4
  CHECK(r.epochs.back().train_rmse < r.epochs.front().train_rmse);
}

TEST(mf_one_thread_is_reproducible_and_prune_rate_zero_is_identical) {
  Csr train = low_rank(200, 150, 52, nullptr);
  MfOptions o = small_options();
  o.epochs = 8;
  TrainContext c1(1, nullptr, nullptr), c2(1, nullptr, nullptr), c3(1, nullptr, nullptr);
  MfTrainResult a = train_mf(train, nullptr, o, c1, nullptr);
  MfTrainResult b = train_mf(train, nullptr, o, c2, nullptr);
  CHECK(a.model->p() == b.model->p() && a.model->q() == b.model->q());
  o.prune_rate = 0.0;
  o.prune_rearrange_every = 2;
  MfTrainResult c = train_mf(train, nullptr, o, c3, nullptr);
  CHECK(a.model->p() == c.model->p());
}

TEST(mf_fp16_and_mascot_train_and_pruning_skips_factors) {
  Csr hold;
  Csr train = low_rank(300, 200, 53, &hold);
  TrainContext ctx(2, nullptr, nullptr);
  for (MfPrecision pr : {MfPrecision::Fp16, MfPrecision::Mascot}) {
    MfOptions o = small_options();
    o.precision = pr;
    o.mascot_user_groups = o.mascot_item_groups = 5;
    MfTrainResult r = train_mf(train, &hold, o, ctx, nullptr);
    CHECK(mf_rmse(*r.model, hold, 2) < 0.3);
  }
  MfOptions o = small_options();
  o.factors = 64;
  o.l2_user = o.l2_item = 0.05;
  o.prune_rate = 0.7;
  o.prune_rearrange_every = 5;
  MfTrainResult r = train_mf(train, &hold, o, ctx, nullptr);
  CHECK(r.epochs.back().mean_active_factors < 64);
  CHECK(mf_rmse(*r.model, hold, 2) < 0.5);
}
