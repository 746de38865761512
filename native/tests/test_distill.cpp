#include <cmath>
#include <cstdio>

#include "harness.hpp"
#include "infae/distill.hpp"
#include "util.hpp"

using namespace cfkit;

// Central differences of the loss against the analytic gradient, at a handful of coordinates.
TEST(distill_gradient_matches_finite_differences) {
  Csr real = cfkit_test::random_binary(30, 12, 4, 61);
  const int64_t m = 4, I = 12;
  std::vector<double> logits(m * I);
  for (int64_t q = 0; q < m * I; ++q) logits[q] = std::sin(double(q) * 1.7) * 1.5;
  TrainContext ctx(1, nullptr, nullptr);
  std::vector<double> grad;
  const int samples = 3;
  // A low temperature makes rows peaked, so some Σ entries exceed 1 and the clip is exercised too.
  const double tau = 0.5, lambda = 0.5, creg = 0.1;
  distill_loss(real, logits, m, samples, tau, lambda, creg, 99, &grad, ctx);
  double worst = 0, scale = 0;
  for (int64_t q : {0, 5, 13, 22, 31, 40, 47}) {
    const double h = 1e-5;
    std::vector<double> up(logits), dn(logits);
    up[q] += h;
    dn[q] -= h;
    const double fd = (distill_loss(real, up, m, samples, tau, lambda, creg, 99, nullptr, ctx) -
                       distill_loss(real, dn, m, samples, tau, lambda, creg, 99, nullptr, ctx)) / (2 * h);
    worst = std::max(worst, std::fabs(fd - grad[q]));
    scale = std::max(scale, std::fabs(fd));
  }
  std::printf("distill FD: worst |fd - grad| %.3e, max |fd| %.3e\n", worst, scale);
  CHECK(scale > 1e-6);
  CHECK(worst < 1e-6 + 1e-4 * scale);
}
