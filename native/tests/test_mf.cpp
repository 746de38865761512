#include <algorithm>
#include <cmath>
#include <random>

#include "common/row_allocator.hpp"
#include "harness.hpp"
#include "mf/mf.hpp"
#include "mf/mf_kernels.hpp"
#include "mf/mf_pruning.hpp"

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

// Every instruction set must give the scalar reference's bits, for fp32, fp16 and mixed rows, at
// lengths with and without partial vector chunks; and the step must agree with a double-precision
// SGD step to float accuracy.
TEST(mf_kernels_are_bit_identical_across_instruction_sets) {
  std::mt19937 rng(7);
  std::normal_distribution<float> g(0.f, 0.3f);
  const mf::KernelIsa saved = mf::kernel_isa();
  const mf::KernelIsa sets[] = {mf::KernelIsa::Scalar, mf::KernelIsa::Avx2, mf::KernelIsa::Avx512, mf::KernelIsa::Neon};
  for (int m : {1, 7, 8, 15, 16, 17, 40, 63, 64, 65, 96, 120, 127, 128, 129, 200}) {
    std::vector<float> p0(m), q0(m);
    for (int d = 0; d < m; ++d) {
      p0[d] = g(rng);
      q0[d] = g(rng);
    }
    std::vector<uint16_t> ph0(m), qh0(m);
    mf::float_to_half(p0.data(), ph0.data(), m);
    mf::float_to_half(q0.data(), qh0.data(), m);
    std::vector<float> ref_p, ref_q;
    std::vector<uint16_t> ref_ph, ref_qh, ref_mix_h;
    float ref_dot = 0, ref_e[4] = {0, 0, 0, 0};
    for (mf::KernelIsa want : sets) {
      const mf::KernelIsa got = mf::use_kernel_isa(want);
      if (got != want) continue;  // this CPU lacks it
      const float dt = mf::dot(p0.data(), q0.data(), m);
      std::vector<float> p = p0, q = q0, pm = p0;
      std::vector<uint16_t> ph = ph0, qh = qh0, qm = qh0;
      const float e[4] = {mf::sgd_step(p.data(), q.data(), m, 1.5f, 0.05f, 0.02f, 0.03f),
                          mf::sgd_step(ph.data(), qh.data(), m, 1.5f, 0.05f, 0.02f, 0.03f),
                          mf::sgd_step(pm.data(), qm.data(), m, 1.5f, 0.05f, 0.02f, 0.03f), 0.f};
      if (want == mf::KernelIsa::Scalar) {
        ref_dot = dt;
        ref_p = p;
        ref_q = q;
        ref_ph = ph;
        ref_qh = qh;
        ref_mix_h = qm;
        std::copy(e, e + 4, ref_e);
        // Against double precision: the error and the updated rows.
        double s = 0;
        for (int d = 0; d < m; ++d) s += double(p0[d]) * q0[d];
        CHECK(std::fabs(dt - s) < 1e-5 * (1 + std::fabs(s)));
        const double ed = 1.5 - s;
        CHECK(std::fabs(e[0] - ed) < 1e-5);
        for (int d = 0; d < m; ++d) {
          CHECK(std::fabs(p[d] - (p0[d] + 0.05 * (ed * q0[d] - 0.02 * p0[d]))) < 1e-6);
          CHECK(std::fabs(q[d] - (q0[d] + 0.05 * (ed * p0[d] - 0.03 * q0[d]))) < 1e-6);
        }
        // The fused fp16 step equals convert, dot/update in fp32, convert back.
        std::vector<float> pf(m), qf(m);
        mf::half_to_float(ph0.data(), pf.data(), m);
        mf::half_to_float(qh0.data(), qf.data(), m);
        const float eh = 1.5f - mf::dot(pf.data(), qf.data(), m);
        CHECK(eh == e[1]);
        mf::update(pf.data(), qf.data(), m, eh, 0.05f, 0.02f, 0.03f);
        std::vector<uint16_t> back(m);
        mf::float_to_half(pf.data(), back.data(), m);
        CHECK(back == ph);
      } else {
        CHECK(dt == ref_dot);
        CHECK(p == ref_p && q == ref_q);
        CHECK(ph == ref_ph && qh == ref_qh && qm == ref_mix_h);
        CHECK(e[0] == ref_e[0] && e[1] == ref_e[1] && e[2] == ref_e[2]);
      }
    }
  }
  mf::use_kernel_isa(saved);
}

// sgd_run() is the same arithmetic as a loop of sgd_step() calls, for every instruction set, in
// fp32 and fp16, at the k its specialised loops take (16..128 in steps of 16), at others, and with
// pruned lengths.
TEST(mf_sgd_run_equals_a_loop_of_steps_on_every_instruction_set) {
  std::mt19937 rng(3);
  std::normal_distribution<float> g(0.f, 0.3f);
  const int users = 9, items = 7;
  std::vector<mf::Rating> ratings(400);
  for (auto& x : ratings) x = {int32_t(rng() % users), int32_t(rng() % items), float(int(rng() % 5)) - 2.f};
  const mf::KernelIsa saved = mf::kernel_isa();
  for (int k : {16, 48, 128, 100, 200}) {
    for (bool pruned : {false, true}) {
      std::vector<uint16_t> plen(users), qlen(items);
      for (auto& l : plen) l = static_cast<uint16_t>(8 * (1 + rng() % (k / 8)));
      for (auto& l : qlen) l = static_cast<uint16_t>(8 * (1 + rng() % (k / 8)));
      std::vector<float> p0(size_t(users) * k), q0(size_t(items) * k);
      for (auto& v : p0) v = g(rng);
      for (auto& v : q0) v = g(rng);
      std::vector<uint16_t> ph0(p0.size()), qh0(q0.size());
      mf::float_to_half(p0.data(), ph0.data(), p0.size());
      mf::float_to_half(q0.data(), qh0.data(), q0.size());
      // The reference: scalar steps, one rating at a time.
      mf::use_kernel_isa(mf::KernelIsa::Scalar);
      std::vector<float> p = p0, q = q0;
      std::vector<uint16_t> ph = ph0, qh = qh0;
      double sse = 0, sse_h = 0;
      for (const auto& x : ratings) {
        const int m = pruned ? std::min(plen[x.u], qlen[x.i]) : k;
        const float e = mf::sgd_step(&p[size_t(x.u) * k], &q[size_t(x.i) * k], m, x.r, 0.05f, 0.02f, 0.03f);
        const float eh = mf::sgd_step(&ph[size_t(x.u) * k], &qh[size_t(x.i) * k], m, x.r, 0.05f, 0.02f, 0.03f);
        sse += double(e) * e;
        sse_h += double(eh) * eh;
      }
      for (mf::KernelIsa want : {mf::KernelIsa::Scalar, mf::KernelIsa::Avx2, mf::KernelIsa::Avx512, mf::KernelIsa::Neon}) {
        if (mf::use_kernel_isa(want) != want) continue;  // this CPU lacks it
        std::vector<float> rp = p0, rq = q0;
        std::vector<uint16_t> rph = ph0, rqh = qh0;
        const uint16_t* pl = pruned ? plen.data() : nullptr;
        const uint16_t* ql = pruned ? qlen.data() : nullptr;
        const int64_t n = static_cast<int64_t>(ratings.size());
        const mf::RunTotals t = mf::sgd_run(ratings.data(), n, rp.data(), rq.data(), k, pl, ql, 0.05f, 0.02f, 0.03f);
        const mf::RunTotals th = mf::sgd_run(ratings.data(), n, rph.data(), rqh.data(), k, pl, ql, 0.05f, 0.02f, 0.03f);
        CHECK(rp == p && rq == q && t.sse == sse);
        CHECK(rph == ph && rqh == qh && th.sse == sse_h);
      }
    }
  }
  mf::use_kernel_isa(saved);
}

// Rearrangement puts dense dimensions first; tail pruning removes about `rate` of the entries,
// always the lowest-energy tails, and zeroes them.
TEST(mf_pruning_rearranges_by_sparsity_and_prunes_lowest_energy_tails) {
  std::mt19937 rng(11);
  std::normal_distribution<float> g(0.f, 1.f);
  std::uniform_real_distribution<float> u01(0.f, 1.f);
  const int k = 40;
  mf::Side P, Q;
  for (mf::Side* s : {&P, &Q}) {
    s->rows = 500;
    s->k = k;
    s->f32.resize(size_t(s->rows) * k);
    // Dimension d is zero in a share (7d mod 40)/40 of the rows and ±1 elsewhere, so the 0.6
    // magnitude quantile is 1 and the sparsity of each dimension is known exactly.
    for (int64_t r = 0; r < s->rows; ++r)
      for (int d = 0; d < k; ++d) s->f32[r * k + d] = r % k < (d * 7) % k ? 0.f : (u01(rng) < 0.5f ? -1.f : 1.f);
  }
  const std::vector<float> before(P.f32.begin(), P.f32.end());
  const std::vector<int> order = mf::rearrange_by_joint_sparsity(P, Q, 0.6, 2);
  for (int d = 0; d + 1 < k; ++d) CHECK((order[d] * 7) % k < (order[d + 1] * 7) % k);
  for (int d = 0; d < k; ++d) CHECK(P.f32[3 * k + d] == before[3 * k + order[d]]);

  // Rows of varied scale with decaying dimensions, as after a rearrangement.
  for (mf::Side* s : {&P, &Q})
    for (int64_t r = 0; r < s->rows; ++r) {
      const float scale = 0.1f + 2.f * u01(rng);
      for (int d = 0; d < k; ++d) s->f32[r * k + d] = scale * g(rng) / (1.f + 0.1f * d);
    }
  for (double rate : {0.2, 0.5}) {
    mf::Side p2 = P, q2 = Q;
    const double eps = mf::prune_tails(p2, q2, rate, 2);
    int64_t pruned = 0;
    for (const mf::Side* s : {&p2, &q2})
      for (int64_t r = 0; r < s->rows; ++r) {
        const int len = s->length[r];
        CHECK(len % 8 == 0 && len >= 8 && len <= k);
        pruned += k - len;
        const mf::Side& orig = s == &p2 ? P : Q;
        double tail = 0, longer = 0;
        for (int d = len; d < k; ++d) {
          tail += double(orig.f32[r * k + d]) * orig.f32[r * k + d];
          CHECK(s->f32[r * k + d] == 0.f);
        }
        for (int d = len - 8; d < k; ++d) longer += double(orig.f32[r * k + d]) * orig.f32[r * k + d];
        CHECK(tail <= eps * (1 + 1e-6));
        CHECK(len == 8 || longer > eps * (1 - 1e-6));
      }
    const double share = double(pruned) / (2.0 * 500 * k);
    CHECK(std::fabs(share - rate) < 0.03);
  }
}

TEST(factor_rows_start_on_cache_lines_and_large_arrays_on_2_mib) {
  // Rows of 16 floats must not straddle cache lines, and large arrays are laid out for huge pages.
  RowVector<float> small(1000), large(size_t(1) << 20);
  RowVector<uint16_t> half(size_t(3) << 20);
  CHECK(reinterpret_cast<uintptr_t>(small.data()) % 64 == 0);
  CHECK(reinterpret_cast<uintptr_t>(large.data()) % (size_t(2) << 20) == 0);
  CHECK(reinterpret_cast<uintptr_t>(half.data()) % (size_t(2) << 20) == 0);
  large.assign(large.size(), 1.f);
  CHECK(large.front() == 1.f && large.back() == 1.f);
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

TEST(mf_results_do_not_depend_on_the_thread_count) {
  // Blocks are shuffled and factor rows initialised from per-part streams, and one wave's blocks
  // share no row, so with the grid fixed one thread and three train the same factors.
  Csr train = low_rank(200, 150, 54, nullptr);
  MfOptions o = small_options();
  o.epochs = 6;
  o.blocks = 6;
  TrainContext c1(1, nullptr, nullptr), c3(3, nullptr, nullptr);
  MfTrainResult a = train_mf(train, nullptr, o, c1, nullptr);
  MfTrainResult b = train_mf(train, nullptr, o, c3, nullptr);
  CHECK(a.model->p() == b.model->p() && a.model->q() == b.model->q());
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

// train_mf_on_device's host side with pruning, against a stand-in device that trains fp16 rows with
// the CPU kernels: the factors come back every epoch, are rearranged and cut on the host at the CPU
// trainer's schedule, and the device is told to upload them.
TEST(mf_device_path_prunes_on_the_host_and_asks_for_uploads) {
  Csr hold;
  Csr train = low_rank(300, 200, 54, &hold);
  MfOptions o = small_options();
  o.factors = 32;
  o.epochs = 30;
  o.precision = MfPrecision::Fp16;
  o.prune_rate = 0.5;
  o.prune_rearrange_every = 5;
  int uploads = 0;
  MfDeviceTrain stand_in = [&](MfDeviceJob& job, const MfOptions& opt, bool copy_each_epoch,
                               const std::function<void(MfEpoch&)>& after_epoch) {
    CHECK(copy_each_epoch && job.pruned);
    CHECK(job.user_len.size() == size_t(job.users) && job.item_len.size() == size_t(job.items));
    std::vector<uint16_t> p16(job.p.size()), q16(job.q.size());
    mf::float_to_half(job.p.data(), p16.data(), p16.size());
    mf::float_to_half(job.q.data(), q16.data(), q16.size());
    for (int e = 0; e < opt.epochs; ++e) {
      const float lr = static_cast<float>(opt.lr_alpha / (1.0 + opt.lr_beta * std::pow(double(e), 1.5)));
      const mf::RunTotals t = mf::sgd_run(job.ratings.data(), static_cast<int64_t>(job.ratings.size()), p16.data(), q16.data(),
                                          job.k, job.user_len.data(), job.item_len.data(), lr, float(opt.l2_user), float(opt.l2_item));
      mf::half_to_float(p16.data(), job.p.data(), p16.size());
      mf::half_to_float(q16.data(), job.q.data(), q16.size());
      MfEpoch ep;
      ep.epoch = e + 1;
      ep.train_rmse = std::sqrt(t.sse / double(job.ratings.size()));
      after_epoch(ep);
      if (job.upload) {
        job.upload = false;
        ++uploads;
        mf::float_to_half(job.p.data(), p16.data(), p16.size());
        mf::float_to_half(job.q.data(), q16.data(), q16.size());
      }
    }
  };
  TrainContext ctx(1, nullptr, nullptr);
  MfTrainResult r = train_mf_on_device(train, &hold, o, ctx, nullptr, stand_in);
  CHECK(uploads == 5);  // after epochs 5, 10, 15, 20 and 25; never after the last
  CHECK(r.epochs[4].mean_active_factors == 32);
  CHECK(r.epochs.back().mean_active_factors >= 8 && r.epochs.back().mean_active_factors < 24);
  std::vector<int> order = r.dimension_order;
  std::sort(order.begin(), order.end());
  for (int d = 0; d < 32; ++d) CHECK(order[d] == d);
  int64_t zeros = 0;
  for (float v : r.model->p()) zeros += v == 0.f;
  CHECK(zeros > int64_t(r.model->p().size() / 4));
  CHECK(mf_rmse(*r.model, hold, 1) < 0.45);
}
