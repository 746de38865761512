#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "dense/lapack.hpp"
#include "dense/stepwise_inverse.hpp"
#include "dense/strassen.hpp"
#include "dense/trapezoid_cholesky.hpp"
#include "harness.hpp"

using namespace cfkit;

namespace {

std::vector<float> uniform(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<float> v(n);
  for (float& x : v) x = u(rng);
  return v;
}

// G·Gᵀ + n·I for an n x n uniform G: symmetric positive definite, both triangles stored.
std::vector<double> spd(int64_t n, unsigned seed) {
  const std::vector<float> g = uniform(size_t(n * n), seed);
  std::vector<double> a(size_t(n * n));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j <= i; ++j) {
      double s = i == j ? double(n) : 0.0;
      for (int64_t k = 0; k < n; ++k) s += double(g[i + k * n]) * g[j + k * n];
      a[i + j * n] = a[j + i * n] = s;
    }
  return a;
}

// Cholesky in double, column by column (the reference the float32 factors are held to).
std::vector<double> cholesky_double(std::vector<double> a, int64_t n) {
  for (int64_t j = 0; j < n; ++j) {
    for (int64_t k = 0; k < j; ++k)
      for (int64_t i = j; i < n; ++i) a[i + j * n] -= a[i + k * n] * a[j + k * n];
    const double d = std::sqrt(a[j + j * n]);
    for (int64_t i = j; i < n; ++i) a[i + j * n] /= d;
  }
  return a;
}

// The inverse of an SPD matrix (both triangles stored) by Gauss-Jordan in double: an independent
// reference for the stepwise Cholesky inverse.
std::vector<double> inverse_double(std::vector<double> a, int64_t n) {
  std::vector<double> inv(size_t(n * n), 0.0);
  for (int64_t i = 0; i < n; ++i) inv[i + i * n] = 1.0;
  for (int64_t c = 0; c < n; ++c) {
    const double p = a[c + c * n];
    for (int64_t j = 0; j < n; ++j) {
      a[c + j * n] /= p;
      inv[c + j * n] /= p;
    }
    for (int64_t r = 0; r < n; ++r) {
      if (r == c) continue;
      const double f = a[r + c * n];
      if (f == 0) continue;
      for (int64_t j = 0; j < n; ++j) {
        a[r + j * n] -= f * a[c + j * n];
        inv[r + j * n] -= f * inv[c + j * n];
      }
    }
  }
  return inv;
}

template <class T>
void check_stepwise_inverse(int64_t n, StepwisePlan plan, double tolerance) {
  const int64_t nb = plan.tile > 0 ? plan.tile : default_tile(sizeof(T) == 8);
  const std::vector<double> ref = spd(n, 11), want = inverse_double(ref, n);
  std::vector<T> a(ref.begin(), ref.end());
  for (int64_t j = 0; j < n; ++j)  // garbage in the upper triangle, which must not be read or written
    for (int64_t i = 0; i < j; ++i) a[i + j * n] = T(-7);
  std::vector<double> fractions;
  const StepCallback record = [&](double f) { fractions.push_back(f); };
  CHECK(cholesky_lower_stepwise(n, a.data(), record, plan) == 0);
  const std::vector<double> l = cholesky_double(ref, n);
  double worst_l = 0;
  for (int64_t j = 0; j < n; ++j)
    for (int64_t i = j; i < n; ++i) worst_l = std::max(worst_l, std::fabs(double(a[i + j * n]) - l[i + j * n]) / l[j + j * n]);
  CHECK(worst_l < tolerance);
  const size_t factor_steps = fractions.size();
  CHECK(inverse_from_cholesky_stepwise(n, a.data(), record, plan) == 0);
  double worst = 0, scale = 0;
  for (int64_t j = 0; j < n; ++j)
    for (int64_t i = 0; i < n; ++i) {
      if (i < j) {
        CHECK(a[i + j * n] == T(-7));
        continue;
      }
      worst = std::max(worst, std::fabs(double(a[i + j * n]) - want[i + j * n]));
      scale = std::max(scale, std::fabs(want[i + j * n]));
    }
  CHECK(worst <= tolerance * scale);
  // A step after every tile call (t = tiles a side: about t³/6 each stage), fractions rising to 1.
  const int64_t t = (n + nb - 1) / nb;
  CHECK(int64_t(factor_steps) >= t * t * t / 6);
  CHECK(int64_t(fractions.size() - factor_steps) >= t * t * t / 3);
  CHECK(fractions[factor_steps - 1] == 1.0 && fractions.back() == 1.0);
  for (size_t k = 1; k < fractions.size(); ++k)
    if (k != factor_steps) CHECK(fractions[k] >= fractions[k - 1]);
}

}  // namespace

TEST(stepwise_cholesky_inverse_matches_a_double_inverse_in_float_and_double) {
  check_stepwise_inverse<double>(203, {32}, 1e-10);  // 7 tiles a side, the last one partial
  check_stepwise_inverse<float>(203, {32}, 2e-5);
  check_stepwise_inverse<double>(130, {64}, 1e-10);  // two full tiles and a 2-wide one
  check_stepwise_inverse<float>(1, {0}, 1e-6);       // the default tile, larger than the matrix
}

TEST(stepwise_cholesky_stops_when_the_callback_throws_and_reports_breakdown_like_lapack) {
  const int64_t n = 300;
  const std::vector<double> ref = spd(n, 5);
  std::vector<double> a = ref;
  int calls = 0;
  bool stopped = false;
  try {
    cholesky_lower_stepwise(n, a.data(), [&](double) {
      if (++calls == 3) fail(ErrorCode::Aborted, "the operation was aborted");
    }, {32});
  } catch (const Error& e) {
    stopped = e.code() == ErrorCode::Aborted;
  }
  CHECK(stopped && calls == 3);
  // Column 151 (1-based) stops being positive definite: the same info as LAPACK's potrf.
  std::vector<double> bad = ref, lapack_copy;
  for (int64_t i = 150; i < n; ++i) bad[i + 150 * n] = bad[150 + i * n] = 0.0;
  bad[150 + 150 * n] = -1.0;
  lapack_copy = bad;
  CHECK(cholesky_lower_stepwise(n, bad.data(), [](double) {}, {32}) == 151);
  CHECK(lapack::potrf_lower(n, lapack_copy.data()) == 151);
}

TEST(tiled_blas_products_match_double_and_do_not_depend_on_the_thread_count) {
  // Shapes past the one-call threshold, with ragged last tiles and operands inside larger arrays.
  // OpenBLAS's own threading changes these bits (Haswell's kernels at any size); the tiles must not.
  lapack::BlasThreadsScope serial(1);
  const int64_t m = 700, n = 530, k = 333, lda = m + 3, ldb = n + 5, ldc = m + 7;
  const int64_t ldl = n + 2;
  const std::vector<float> a = uniform(size_t(lda * k), 21), b = uniform(size_t(ldb * k), 22), c0 = uniform(size_t(ldc * m), 23);
  const std::vector<float> l = uniform(size_t(ldl * n), 24);
  std::vector<std::vector<float>> gemm, syrk, trmm;
  for (int threads : {1, 2, 3}) {
    std::vector<float> c = c0;
    lapack::gemm_nt(m, n, k, -1.f, a.data(), lda, b.data(), ldb, 1.f, c.data(), ldc, threads);
    gemm.push_back(c);
    c = c0;
    lapack::syrk_lower(m, k, -1.f, a.data(), lda, 1.f, c.data(), ldc, threads);
    syrk.push_back(c);
    c = c0;  // B (m x n, leading dimension ldc) := B·Lᵀ with L the lower triangle of l
    lapack::trmm_right_lower_trans(m, n, l.data(), ldl, c.data(), ldc, threads);
    trmm.push_back(c);
  }
  double worst_gemm = 0, worst_syrk = 0, worst_trmm = 0;
  for (int64_t j = 0; j < m; ++j)
    for (int64_t i = 0; i < m; ++i) {
      double g = 0, s = 0, t = 0;
      for (int64_t p = 0; p < k; ++p) {
        if (j < n) g += double(a[i + p * lda]) * b[j + p * ldb];
        s += double(a[i + p * lda]) * a[j + p * lda];
      }
      for (int64_t p = 0; j < n && p <= j; ++p) t += double(c0[i + p * ldc]) * l[j + p * ldl];
      const size_t q = size_t(i + j * ldc);
      if (j < n) worst_gemm = std::max(worst_gemm, std::fabs(gemm[0][q] - (c0[q] - g)));
      if (j < n) worst_trmm = std::max(worst_trmm, std::fabs(trmm[0][q] - t));
      if (i >= j) worst_syrk = std::max(worst_syrk, std::fabs(syrk[0][q] - (c0[q] - s)));
      else CHECK(syrk[0][q] == c0[q]);  // the upper triangle is left alone
    }
  CHECK(worst_gemm < 1e-3 && worst_syrk < 1e-3 && worst_trmm < 1e-3);
  for (size_t t = 1; t < gemm.size(); ++t) {
    CHECK(gemm[t] == gemm[0]);
    CHECK(syrk[t] == syrk[0]);
    CHECK(trmm[t] == trmm[0]);
  }
}

TEST(strassen_product_matches_the_classical_product_and_leaves_its_workspace_zero) {
  // Even and odd dimensions (the remainders peeled off to the BLAS), with Strassen on at 16 and off
  // where any dimension is below it; operands inside larger arrays (leading dimensions > rows).
  struct Shape {
    int64_t m, n, k;
  };
  for (const Shape sh : {Shape{64, 64, 64}, Shape{77, 53, 91}, Shape{40, 100, 33}, Shape{90, 20, 70}}) {
    const int64_t lda = sh.m + 3, ldb = sh.n + 5, ldc = sh.m + 7;
    const std::vector<float> a = uniform(size_t(lda * sh.k), 1), b = uniform(size_t(ldb * sh.k), 2), c0 = uniform(size_t(ldc * sh.n), 3);
    std::vector<double> want(c0.begin(), c0.end());
    for (int64_t j = 0; j < sh.n; ++j)
      for (int64_t i = 0; i < sh.m; ++i) {
        double s = 0;
        for (int64_t t = 0; t < sh.k; ++t) s += double(a[i + t * lda]) * b[j + t * ldb];
        want[i + j * ldc] -= s;
      }
    ProductPlan plan;
    plan.strassen_min = 16;
    StrassenWorkspace work;
    std::vector<std::vector<float>> got;
    for (int threads : {1, 3, 3}) {  // the second 3-thread call reuses the workspace
      std::vector<float> c = c0;
      int parts = 0;
      subtract_product(sh.m, sh.n, sh.k, a.data(), lda, b.data(), ldb, c.data(), ldc, plan, work, threads, [&] { ++parts; });
      CHECK(parts == (std::min({sh.m, sh.n, sh.k}) >= 16 ? 7 : 1));
      got.push_back(c);
    }
    double worst = 0;
    for (int64_t j = 0; j < ldc * sh.n; ++j) worst = std::max(worst, std::fabs(got[0][j] - want[j]));
    CHECK(worst < 1e-4);
    CHECK(got[0] == got[1]);  // independent of the thread count
    CHECK(got[1] == got[2]);  // and of the workspace's history
  }
}

TEST(trapezoid_cholesky_matches_double_and_reports_progress) {
  // A 300-row trapezoid of 200 columns is the first 200 columns of the 300 x 300 factor. Leaves of
  // 16 columns, syrk leaves of 40 and Strassen from 24 put every path of the recursion in play.
  const int64_t n = 300, ncol = 200;
  const std::vector<double> a = spd(n, 11);
  const std::vector<double> l = cholesky_double(a, n);
  TrapezoidPlan plan;
  plan.tile = 16;
  plan.syrk_leaf = 40;
  plan.product.strassen_min = 24;
  std::vector<std::vector<float>> got;
  for (int threads : {1, 3}) {
    const int64_t ld = n + 4;
    std::vector<float> block(size_t(ld * ncol), 0.f);
    for (int64_t j = 0; j < ncol; ++j)
      for (int64_t i = j; i < n; ++i) block[i + j * ld] = float(a[i + j * n]);
    std::vector<double> fractions;
    TrapezoidCholesky chol(threads, plan);
    CHECK(chol.factor(block.data(), ncol, n, ld, [&](double f) { fractions.push_back(f); }));
    double worst = 0;
    for (int64_t j = 0; j < ncol; ++j)
      for (int64_t i = j; i < n; ++i) worst = std::max(worst, std::fabs(block[i + j * ld] - l[i + j * n]) / l[j + j * n]);
    CHECK(worst < 2e-5);
    for (int64_t j = 0; j < ncol; ++j)
      for (int64_t i = 0; i < j; ++i) CHECK(block[i + j * ld] == 0.f);  // the upper triangle is never written
    CHECK(fractions.size() > 20);
    CHECK(std::is_sorted(fractions.begin(), fractions.end()));
    CHECK(std::fabs(fractions.back() - 1.0) < 1e-12);
    got.push_back(block);
  }
  CHECK(got[0] == got[1]);

  // A non-positive pivot inside the second leaf returns false; a throwing progress aborts.
  std::vector<float> bad(size_t(n * n), 0.f);
  for (int64_t j = 0; j < n; ++j)
    for (int64_t i = j; i < n; ++i) bad[i + j * n] = float(a[i + j * n]);
  bad[20 + 20 * n] = -1.f;
  TrapezoidCholesky chol(2, plan);
  CHECK(!chol.factor(bad.data(), n, n, n, nullptr));
  bool aborted = false;
  try {
    std::vector<float> fine(size_t(n * n), 0.f);
    for (int64_t j = 0; j < n; ++j)
      for (int64_t i = j; i < n; ++i) fine[i + j * n] = float(a[i + j * n]);
    chol.factor(fine.data(), n, n, n, [](double f) {
      if (f > 0.5) fail(ErrorCode::Aborted, "stop");
    });
  } catch (const Error& e) {
    aborted = e.code() == ErrorCode::Aborted;
  }
  CHECK(aborted);
}
