#include <cmath>

#include "harness.hpp"
#include "infae/infae.hpp"
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
