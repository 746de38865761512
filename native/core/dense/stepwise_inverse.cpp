#include "dense/stepwise_inverse.hpp"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstddef>

#include "common/error.hpp"

extern "C" {
void spotrf_(const char*, const int*, float*, const int*, int*, size_t);
void dpotrf_(const char*, const int*, double*, const int*, int*, size_t);
void strtri_(const char*, const char*, const int*, float*, const int*, int*, size_t, size_t);
void dtrtri_(const char*, const char*, const int*, double*, const int*, int*, size_t, size_t);
void slauum_(const char*, const int*, float*, const int*, int*, size_t);
void dlauum_(const char*, const int*, double*, const int*, int*, size_t);
void strsm_(const char*, const char*, const char*, const char*, const int*, const int*, const float*, const float*, const int*,
            float*, const int*, size_t, size_t, size_t, size_t);
void dtrsm_(const char*, const char*, const char*, const char*, const int*, const int*, const double*, const double*,
            const int*, double*, const int*, size_t, size_t, size_t, size_t);
void strmm_(const char*, const char*, const char*, const char*, const int*, const int*, const float*, const float*, const int*,
            float*, const int*, size_t, size_t, size_t, size_t);
void dtrmm_(const char*, const char*, const char*, const char*, const int*, const int*, const double*, const double*,
            const int*, double*, const int*, size_t, size_t, size_t, size_t);
void ssyrk_(const char*, const char*, const int*, const int*, const float*, const float*, const int*, const float*, float*,
            const int*, size_t, size_t);
void dsyrk_(const char*, const char*, const int*, const int*, const double*, const double*, const int*, const double*,
            double*, const int*, size_t, size_t);
void sgemm_(const char*, const char*, const int*, const int*, const int*, const float*, const float*, const int*, const float*,
            const int*, const float*, float*, const int*, size_t, size_t);
void dgemm_(const char*, const char*, const int*, const int*, const int*, const double*, const double*, const int*,
            const double*, const int*, const double*, double*, const int*, size_t, size_t);
}

namespace cfkit {

namespace {

// The Fortran BLAS/LAPACK by element type; every dimension is a checked int, every call skips empty work.
struct Blas {
  static void potrf(int n, float* a, int lda, int& info) { spotrf_("L", &n, a, &lda, &info, 1); }
  static void potrf(int n, double* a, int lda, int& info) { dpotrf_("L", &n, a, &lda, &info, 1); }
  static void trtri(int n, float* a, int lda, int& info) { strtri_("L", "N", &n, a, &lda, &info, 1, 1); }
  static void trtri(int n, double* a, int lda, int& info) { dtrtri_("L", "N", &n, a, &lda, &info, 1, 1); }
  static void lauum(int n, float* a, int lda, int& info) { slauum_("L", &n, a, &lda, &info, 1); }
  static void lauum(int n, double* a, int lda, int& info) { dlauum_("L", &n, a, &lda, &info, 1); }
  template <class T>
  static void trsm(const char* side, const char* trans, int m, int n, T alpha, const T* l, int lda, T* b, int ldb) {
    if (m <= 0 || n <= 0) return;
    if constexpr (sizeof(T) == 4) strsm_(side, "L", trans, "N", &m, &n, &alpha, l, &lda, b, &ldb, 1, 1, 1, 1);
    else dtrsm_(side, "L", trans, "N", &m, &n, &alpha, l, &lda, b, &ldb, 1, 1, 1, 1);
  }
  template <class T>
  static void trmm(const char* trans, int m, int n, const T* l, int lda, T* b, int ldb) {  // b ← op(l)·b, l lower
    if (m <= 0 || n <= 0) return;
    const T one = 1;
    if constexpr (sizeof(T) == 4) strmm_("L", "L", trans, "N", &m, &n, &one, l, &lda, b, &ldb, 1, 1, 1, 1);
    else dtrmm_("L", "L", trans, "N", &m, &n, &one, l, &lda, b, &ldb, 1, 1, 1, 1);
  }
  template <class T>
  static void syrk(const char* trans, int n, int k, T alpha, const T* a, int lda, T* c, int ldc) {  // lower(c) += alpha·op
    if (n <= 0 || k <= 0) return;
    const T one = 1;
    if constexpr (sizeof(T) == 4) ssyrk_("L", trans, &n, &k, &alpha, a, &lda, &one, c, &ldc, 1, 1);
    else dsyrk_("L", trans, &n, &k, &alpha, a, &lda, &one, c, &ldc, 1, 1);
  }
  template <class T>
  static void gemm(const char* ta, const char* tb, int m, int n, int k, T alpha, const T* a, int lda, const T* b, int ldb, T* c,
                   int ldc) {  // c += alpha·op(a)·op(b)
    if (m <= 0 || n <= 0 || k <= 0) return;
    const T one = 1;
    if constexpr (sizeof(T) == 4) sgemm_(ta, tb, &m, &n, &k, &alpha, a, &lda, b, &ldb, &one, c, &ldc, 1, 1);
    else dgemm_(ta, tb, &m, &n, &k, &alpha, a, &lda, b, &ldb, &one, c, &ldc, 1, 1);
  }
};

int checked(int64_t n) {
  require(n >= 0 && n <= INT_MAX / 2, "matrix dimension exceeds the 32-bit LAPACK interface");
  return static_cast<int>(n);
}

// Square tiles of side `t` over an n x n column-major matrix; the last row and column of tiles may
// be narrower. Counts the calls made, so `between` gets the fraction of a stage done.
template <class T>
struct Tiles {
  T* a;
  int n, t, nt;
  const StepCallback& between;
  int64_t calls = 0, total = 1;

  T* at(int i, int j) const { return a + int64_t(i) * t + int64_t(j) * t * n; }
  int size(int i) const { return std::min(t, n - i * t); }
  void done() {
    ++calls;
    between(std::min(1.0, double(calls) / double(total)));
  }
};

template <class T>
Tiles<T> tiles(int64_t n64, T* a, const StepCallback& between, const StepwisePlan& plan) {
  const int n = checked(n64);
  require(plan.tile >= 0, "stepwise Cholesky: invalid tile size");
  const int t = static_cast<int>(std::max<int64_t>(1, plan.tile > 0 ? plan.tile : default_tile(sizeof(T) == 8)));
  return Tiles<T>{a, n, t, (n + t - 1) / t, between};
}

// Right-looking: factor the diagonal tile, solve the tiles below it, update the trailing tiles.
template <class T>
int cholesky(int64_t n64, T* a, const StepCallback& between, const StepwisePlan& plan) {
  Tiles<T> x = tiles(n64, a, between, plan);
  const int nt = x.nt, lda = x.n;
  x.total = 0;
  for (int k = 0; k < nt; ++k) x.total += 1 + int64_t(nt - k - 1) * (nt - k + 2) / 2;
  for (int k = 0; k < nt; ++k) {
    const int tk = x.size(k);
    int info = 0;
    Blas::potrf(tk, x.at(k, k), lda, info);
    if (info != 0) return k * x.t + info;
    x.done();
    for (int m = k + 1; m < nt; ++m) {
      Blas::trsm<T>("R", "T", x.size(m), tk, T(1), x.at(k, k), lda, x.at(m, k), lda);
      x.done();
    }
    for (int m = k + 1; m < nt; ++m) {
      Blas::syrk<T>("N", x.size(m), tk, T(-1), x.at(m, k), lda, x.at(m, m), lda);
      x.done();
      for (int c = k + 1; c < m; ++c) {
        Blas::gemm<T>("N", "T", x.size(m), x.size(c), tk, T(-1), x.at(m, k), lda, x.at(c, k), lda, x.at(m, c), lda);
        x.done();
      }
    }
  }
  between(1.0);
  return 0;
}

// potri = trtri then lauum, both by tiles; the first half of the stage's progress is trtri.
template <class T>
int inverse(int64_t n64, T* a, const StepCallback& between, const StepwisePlan& plan) {
  const StepCallback half = [&](double f) { between(0.5 * f); };
  Tiles<T> x = tiles(n64, a, half, plan);
  const int nt = x.nt, lda = x.n;
  x.total = 0;
  for (int k = 0; k < nt; ++k) x.total += int64_t(nt - k - 1) * (k + 1) + k + 1;  // the calls below
  // trtri: the tiles left of and below each diagonal tile, then the tile itself.
  for (int k = 0; k < nt; ++k) {
    const int tk = x.size(k);
    for (int m = k + 1; m < nt; ++m) {
      Blas::trsm<T>("R", "N", x.size(m), tk, T(-1), x.at(k, k), lda, x.at(m, k), lda);
      x.done();
      for (int c = 0; c < k; ++c) {  // reads the tiles left of the diagonal before the solves below
        Blas::gemm<T>("N", "N", x.size(m), x.size(c), tk, T(1), x.at(m, k), lda, x.at(k, c), lda, x.at(m, c), lda);
        x.done();
      }
    }
    for (int c = 0; c < k; ++c) {
      Blas::trsm<T>("L", "N", tk, x.size(c), T(1), x.at(k, k), lda, x.at(k, c), lda);
      x.done();
    }
    int info = 0;
    Blas::trtri(tk, x.at(k, k), lda, info);
    if (info != 0) return k * x.t + info;
    x.done();
  }
  // lauum: lower(a) ← Wᵀ·W for the inverted factor W, tile row by tile row.
  const StepCallback second = [&](double f) { between(0.5 + 0.5 * f); };
  Tiles<T> y = tiles(n64, a, second, plan);
  y.total = 0;
  for (int k = 0; k < nt; ++k) y.total += int64_t(k) * (k + 1) / 2 + k + 1;
  for (int k = 0; k < nt; ++k) {
    const int tk = y.size(k);
    for (int c = 0; c < k; ++c) {  // uses row k's tiles before the multiplications below
      Blas::syrk<T>("T", y.size(c), tk, T(1), y.at(k, c), lda, y.at(c, c), lda);
      y.done();
      for (int m = c + 1; m < k; ++m) {
        Blas::gemm<T>("T", "N", y.size(m), y.size(c), tk, T(1), y.at(k, m), lda, y.at(k, c), lda, y.at(m, c), lda);
        y.done();
      }
    }
    for (int c = 0; c < k; ++c) {
      Blas::trmm<T>("T", tk, y.size(c), y.at(k, k), lda, y.at(k, c), lda);
      y.done();
    }
    int info = 0;
    Blas::lauum(tk, y.at(k, k), lda, info);
    y.done();
  }
  between(1.0);
  return 0;
}

}  // namespace

int64_t default_tile(bool double_precision) { return double_precision ? 1024 : 1536; }

int cholesky_lower_stepwise(int64_t n, float* a, const StepCallback& between, StepwisePlan plan) { return cholesky(n, a, between, plan); }
int cholesky_lower_stepwise(int64_t n, double* a, const StepCallback& between, StepwisePlan plan) { return cholesky(n, a, between, plan); }
int inverse_from_cholesky_stepwise(int64_t n, float* a, const StepCallback& between, StepwisePlan plan) { return inverse(n, a, between, plan); }
int inverse_from_cholesky_stepwise(int64_t n, double* a, const StepCallback& between, StepwisePlan plan) { return inverse(n, a, between, plan); }

}  // namespace cfkit
