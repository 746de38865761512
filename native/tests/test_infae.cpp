#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <vector>

#include "dense/blocked_cholesky.hpp"

#include "harness.hpp"
#include "infae/infae.hpp"
#include "model/recommend.hpp"
#include "util.hpp"

using namespace cfkit;

TEST(ntk_entry_matches_the_closed_form_and_its_diagonal) {
  // K(u,u) = 2c + 0.01 exactly.
  const double c = ntk_self(7, 50);
  CHECK_NEAR(ntk_entry(7, c, c, 50), 2 * c + 0.01, 1e-12);
  // Orthogonal rows: Σ1 = 0.01.
  const double cu = ntk_self(3, 10), cv = ntk_self(4, 10);
  const double s1 = 0.01, th = std::acos(s1 / std::sqrt(cu * cv));
  CHECK_NEAR(ntk_entry(0, cu, cv, 10), (std::sqrt(cu * cv - s1 * s1) + 2 * (M_PI - th) * s1) / M_PI + 0.01, 1e-12);
}

TEST(infae_scores_solve_the_regularised_system) {
  Csr x = cfkit_test::random_binary(60, 30, 6, 41);
  TrainContext ctx(2, nullptr, nullptr);
  InfAeFitOptions o;
  o.lambdas = {2.0};
  o.float64 = true;
  InfAeFitResult r = fit_infae(x, o, nullptr, nullptr, ctx);
  // (K + λ tr/n I) α = X  ⇒  K·α = X − λ tr/n · α: check one column through the public pieces.
  const int64_t n = 60, ni = 30;
  std::vector<float> k(n * n);
  r.model->kernel_rows(x, 0, n, k.data());
  double trace = 0;
  for (int64_t u = 0; u < n; ++u) trace += k[u * n + u];
  const double reg = 2.0 * trace / n;
  const auto& at = r.model->alpha_t();
  double worst = 0;
  for (int64_t u = 0; u < n; ++u)
    for (int64_t i = 0; i < ni; ++i) {
      double lhs = reg * at[i * n + u];
      for (int64_t v = 0; v < n; ++v) lhs += double(k[u * n + v]) * at[i * n + v];
      double xui = 0;
      for (int64_t p = x.indptr[u]; p < x.indptr[u + 1]; ++p)
        if (x.indices[p] == i) xui = 1;
      worst = std::max(worst, std::fabs(lhs - xui));
    }
  CHECK(worst < 1e-4);
}

// A model on a device scores through its hook (the GPU scorer in the addon); recommend() masks and
// ranks what the hook returns exactly as it does the CPU's scores.
TEST(infae_device_score_hook_serves_recommend) {
  Csr x = cfkit_test::random_binary(80, 40, 7, 5);
  TrainContext ctx(2, nullptr, nullptr);
  InfAeFitOptions o;
  o.lambdas = {3.0};
  InfAeFitResult r = fit_infae(x, o, nullptr, nullptr, ctx);
  const TopK cpu = recommend(*r.model, x, 5, true, {}, ctx, nullptr);
  Buffer<float> alpha_copy(r.model->alpha_t().size());
  std::copy(r.model->alpha_t().data(), r.model->alpha_t().data() + alpha_copy.size(), alpha_copy.data());
  auto twin = std::make_shared<InfAeModel>(x, std::move(alpha_copy));
  auto calls = std::make_shared<std::atomic<int64_t>>(0);
  r.model->set_device_score([twin, calls](const Csr& in, int64_t b, int64_t e, float* out) {
    *calls += e - b;
    twin->score(in, nullptr, b, e, out);
  });
  CHECK(r.model->scores_on_device());
  const TopK dev = recommend(*r.model, x, 5, true, {}, ctx, nullptr);
  CHECK(*calls == x.rows);
  CHECK(dev.ids == cpu.ids);
  CHECK(dev.scores == cpu.scores);
}

// The blocked Cholesky loop the GPU path runs, driven here by the system BLAS, against LAPACK.
extern "C" {
void spotrf_(const char*, const int*, float*, const int*, int*, size_t);
void strsm_(const char*, const char*, const char*, const char*, const int*, const int*, const float*, const float*,
            const int*, float*, const int*, size_t, size_t, size_t, size_t);
void ssyrk_(const char*, const char*, const int*, const int*, const float*, const float*, const int*, const float*,
            float*, const int*, size_t, size_t);
}

namespace {
struct HostPanelOps {
  int potrf_small(int nb, float* a, int lda) {
    int info = 0;
    spotrf_("L", &nb, a, &lda, &info, 1);
    return info;
  }
  void trsm_panel(int m, int nb, const float* l, float* b, int lda) {
    const float one = 1.f;
    strsm_("R", "L", "T", "N", &m, &nb, &one, l, &lda, b, &lda, 1, 1, 1, 1);
  }
  void syrk_update(int m, int nb, const float* a, float* c, int lda) {
    const float minus_one = -1.f, one = 1.f;
    ssyrk_("L", "N", &m, &nb, &minus_one, a, &lda, &one, c, &lda, 1, 1);
  }
};
}  // namespace

TEST(blocked_cholesky_matches_lapack_and_reports_breakdown) {
  const int n = 203, nb = 32;  // not a multiple of the panel width
  std::vector<float> b(size_t(n) * n), a(size_t(n) * n, 0.f);
  uint64_t state = 7;
  for (float& v : b) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    v = float(int(state >> 40) % 2001 - 1000) / 1000.f;
  }
  for (int i = 0; i < n; ++i)
    for (int j = 0; j <= i; ++j) {
      double s = 0;
      for (int k = 0; k < n; ++k) s += double(b[i + size_t(k) * n]) * b[j + size_t(k) * n];
      a[i + size_t(j) * n] = float(s) + (i == j ? 1.f : 0.f);
    }
  std::vector<float> ref = a, blocked = a;
  int info = 0, nn = n;
  spotrf_("L", &nn, ref.data(), &nn, &info, 1);
  CHECK(info == 0);
  HostPanelOps ops;
  CHECK(blocked_cholesky(ops, n, blocked.data(), n, nb) == 0);
  double worst = 0, scale = 0;
  for (int j = 0; j < n; ++j)
    for (int i = j; i < n; ++i) {
      worst = std::max(worst, std::fabs(double(ref[i + size_t(j) * n]) - blocked[i + size_t(j) * n]));
      scale = std::max(scale, std::fabs(double(ref[i + size_t(j) * n])));
    }
  CHECK(worst <= 1e-4 * scale);
  // A matrix that stops being positive definite at column 71 (1-based), inside the third panel.
  std::vector<float> bad = a;
  for (int i = 70; i < n; ++i) bad[i + size_t(70) * n] = bad[70 + size_t(i) * n] = 0.f;
  bad[70 + size_t(70) * n] = -1.f;
  CHECK(blocked_cholesky(ops, n, bad.data(), n, nb) == 71);
}
