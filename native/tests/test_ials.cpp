#include <cmath>
#include <random>

#include "harness.hpp"
#include "mf/ials.hpp"
#include "sparse/csr.hpp"
#include "util.hpp"

using namespace cfkit;

namespace {
// rows x k factors from N(0, sd²).
std::vector<float> random_factors(int64_t rows, int k, float sd, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g(0.f, sd);
  std::vector<float> f(size_t(rows) * k);
  for (auto& v : f) v = g(rng);
  return f;
}
}  // namespace

TEST(ials_conjugate_gradient_reaches_the_exact_row_solution) {
  // A row's system from random fixed factors: CG with k steps from a random start must land on the
  // Cholesky solution (to 1e-6 relative), and 3 steps must already be closer than the start.
  const int k = 16;
  const std::vector<float> fixed = random_factors(200, k, 0.3f, 3);
  const std::vector<double> gram = ials_gramian(fixed.data(), 200, k);
  std::vector<int32_t> rows = {3, 17, 40, 41, 99, 150, 199};
  const IalsRow row{fixed.data(), rows.data(), int64_t(rows.size()), gram.data(), 0.1, 0.5, k};
  std::vector<double> scratch;
  std::vector<float> exact(k, 0.f), start = random_factors(1, k, 0.3f, 4), cg, few;
  ials_solve_row(row, 0, exact.data(), scratch);
  cg = start;
  ials_solve_row(row, k, cg.data(), scratch);
  few = start;
  ials_solve_row(row, 3, few.data(), scratch);
  double norm = 0, err = 0, err_few = 0, err_start = 0;
  for (int a = 0; a < k; ++a) {
    norm += double(exact[a]) * exact[a];
    err = std::max(err, std::fabs(double(cg[a]) - exact[a]));
    err_few += (double(few[a]) - exact[a]) * (double(few[a]) - exact[a]);
    err_start += (double(start[a]) - exact[a]) * (double(start[a]) - exact[a]);
  }
  CHECK(norm > 0);
  CHECK(err <= 1e-6 * std::sqrt(norm) + 1e-7);
  CHECK(err_few < err_start);
  // The exact solution satisfies A x = b (checked independently of the solver's own arithmetic).
  for (int a = 0; a < k; ++a) {
    double ax = 0.5 * exact[a], b = 0;
    for (int c = 0; c < k; ++c) ax += 0.1 * gram[size_t(a) * k + c] * exact[c];
    for (int32_t r : rows) {
      double d = 0;
      for (int c = 0; c < k; ++c) d += double(fixed[r * k + c]) * exact[c];
      ax += d * fixed[r * k + a];
      b += fixed[r * k + a];
    }
    CHECK(std::fabs(ax - b) < 1e-5 * (1 + std::fabs(b)));
  }
}

TEST(ials_gramian_matches_a_naive_sum) {
  const int k = 12;
  const std::vector<float> f = random_factors(333, k, 1.f, 5);
  const std::vector<double> one = ials_gramian(f.data(), 333, k);
  for (int a = 0; a < k; ++a)
    for (int b = 0; b < k; ++b) {
      double s = 0;
      for (int r = 0; r < 333; ++r) s += double(f[r * k + a]) * f[r * k + b];
      CHECK(std::fabs(one[size_t(a) * k + b] - s) < 1e-9 * (1 + std::fabs(s)));
    }
}

TEST(ials_loss_falls_with_exact_solves_and_threads_do_not_change_the_factors) {
  const Csr x = cfkit_test::clustered_binary(400, 120, 6, 12, 9);
  IalsOptions o;
  o.factors = 8;
  o.epochs = 6;
  o.cg_steps = 0;
  o.l2 = 0.05;
  o.unobserved_weight = 0.2;
  TrainContext one(1, nullptr, nullptr), three(3, nullptr, nullptr);
  const IalsTrainResult a = train_ials(x, o, one), b = train_ials(x, o, three);
  for (size_t e = 1; e < a.epochs.size(); ++e) CHECK(a.epochs[e].loss <= a.epochs[e - 1].loss * (1 + 1e-12));
  CHECK(a.model->w() == b.model->w());
  CHECK(a.model->h() == b.model->h());
  o.cg_steps = 3;
  const IalsTrainResult c = train_ials(x, o, one), d = train_ials(x, o, three);
  CHECK(c.model->w() == d.model->w() && c.model->h() == d.model->h());
  // CG with 3 warm-started steps ends near the exact solves' loss.
  CHECK(c.epochs.back().loss < a.epochs.back().loss * 1.05);
}
