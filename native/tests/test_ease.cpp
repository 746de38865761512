#include <cmath>
#include <vector>

#include "ease/ease.hpp"
#include "harness.hpp"
#include "util.hpp"

using namespace cfkit;

namespace {
// Naive reference: Gauss-Jordan inverse in double of XᵀX + λI.
std::vector<double> naive_ease(const Csr& x, double l2) {
  const int64_t n = x.cols;
  std::vector<double> a(n * n, 0.0), inv(n * n, 0.0);
  for (int64_t u = 0; u < x.rows; ++u)
    for (int64_t p = x.indptr[u]; p < x.indptr[u + 1]; ++p)
      for (int64_t q = x.indptr[u]; q < x.indptr[u + 1]; ++q)
        a[x.indices[p] * n + x.indices[q]] += double(x.values[p]) * x.values[q];
  for (int64_t i = 0; i < n; ++i) {
    a[i * n + i] += l2;
    inv[i * n + i] = 1;
  }
  for (int64_t c = 0; c < n; ++c) {
    double piv = a[c * n + c];
    for (int64_t j = 0; j < n; ++j) {
      a[c * n + j] /= piv;
      inv[c * n + j] /= piv;
    }
    for (int64_t r = 0; r < n; ++r) {
      if (r == c) continue;
      double f = a[r * n + c];
      for (int64_t j = 0; j < n; ++j) {
        a[r * n + j] -= f * a[c * n + j];
        inv[r * n + j] -= f * inv[c * n + j];
      }
    }
  }
  std::vector<double> b(n * n);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) b[i * n + j] = i == j ? 0 : -inv[i * n + j] / inv[j * n + j];
  return b;
}
}  // namespace

TEST(gram_upper_matches_dense_product) {
  Csr x = cfkit_test::random_binary(40, 12, 5, 3);
  TrainContext ctx(3, nullptr, nullptr);
  Buffer<double> g = gram_upper<double>(x, ctx);
  for (int64_t i = 0; i < 12; ++i)
    for (int64_t j = i; j < 12; ++j) {
      double ref = 0;
      for (int64_t u = 0; u < 40; ++u) {
        double a = 0, b = 0;
        for (int64_t p = x.indptr[u]; p < x.indptr[u + 1]; ++p) {
          if (x.indices[p] == i) a = x.values[p];
          if (x.indices[p] == j) b = x.values[p];
        }
        ref += a * b;
      }
      CHECK_NEAR(g[i * 12 + j], ref, 1e-12);
    }
}

TEST(ease_matches_naive_inverse_in_both_precisions) {
  Csr x = cfkit_test::random_binary(200, 70, 8, 4);
  std::vector<double> ref = naive_ease(x, 10.0);
  for (bool f64 : {false, true}) {
    TrainContext ctx(2, nullptr, nullptr);
    EaseOptions o;
    o.l2 = 10.0;
    o.float64 = f64;
    EaseModel m = fit_ease(x, o, ctx);
    double worst = 0;
    for (size_t i = 0; i < ref.size(); ++i) worst = std::max(worst, std::fabs(ref[i] - m.weights()[i]));
    CHECK(worst < (f64 ? 1e-6 : 1e-4));
  }
}

TEST(ease_weights_do_not_depend_on_thread_count) {
  Csr x = cfkit_test::random_binary(300, 90, 10, 5);
  EaseOptions o;
  o.l2 = 5.0;
  o.float64 = true;
  TrainContext c1(1, nullptr, nullptr), c3(3, nullptr, nullptr);
  EaseModel a = fit_ease(x, o, c1), b = fit_ease(x, o, c3);
  // The Gram is bit-identical; LAPACK itself may reorder sums by thread count, so allow rounding.
  double worst = 0;
  for (size_t i = 0; i < a.weights().size(); ++i) worst = std::max(worst, double(std::fabs(a.weights()[i] - b.weights()[i])));
  CHECK(worst < 1e-6);
}

TEST(ease_reports_non_positive_definite_and_abort) {
  Csr x = cfkit_test::random_binary(3, 20, 4, 6);  // rank <= 3, so λ = 0 is singular
  TrainContext ctx(1, nullptr, nullptr);
  EaseOptions o;
  o.l2 = 0.0;
  bool numeric = false;
  try {
    fit_ease(x, o, ctx);
  } catch (const Error& e) {
    numeric = e.code() == ErrorCode::Numeric;
  }
  CHECK(numeric);
  TrainContext aborted(1, nullptr, nullptr);
  aborted.request_abort();
  o.l2 = 1.0;
  bool was_aborted = false;
  try {
    fit_ease(x, o, aborted);
  } catch (const Error& e) {
    was_aborted = e.code() == ErrorCode::Aborted;
  }
  CHECK(was_aborted);
}
