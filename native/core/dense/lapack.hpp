// Thin wrappers over the system BLAS/LAPACK (Fortran ABI, so any vendor links). Matrices are
// column-major as LAPACK sees them; callers document how their row-major buffers map onto that.
#pragma once
#include <cstdint>
#include <string>

namespace cfkit {
namespace lapack {

// Cholesky factor in place (lower triangle). Returns LAPACK's info (>0: not positive definite there).
int potrf_lower(int64_t n, float* a);
int potrf_lower(int64_t n, double* a);
// Inverse from the Cholesky factor, in place (lower triangle).
int potri_lower(int64_t n, float* a);
int potri_lower(int64_t n, double* a);
// Solves A X = B for X given A's lower Cholesky factor; B is n x nrhs column-major.
int potrs_lower(int64_t n, int64_t nrhs, const float* a, float* b);
int potrs_lower(int64_t n, int64_t nrhs, const double* a, double* b);

// Single-precision kernels on column-major blocks with explicit leading dimensions, for the
// supernodal factorization (sansa/supernodal_single.cpp).
int potrf_lower(int64_t n, float* a, int64_t lda);
// Inverse of a lower triangular n x n matrix in place; returns LAPACK's info (>0: a zero diagonal).
int trtri_lower(int64_t n, float* a, int64_t lda);

// The three products below run on `threads` threads of their own, each tile one single-threaded
// BLAS call, and the tiles depend on the shape alone: their bits do not depend on the thread count.
// OpenBLAS's own threading splits by thread count and its results change with it: on a 2-core AMD
// EPYC (OpenBLAS 0.3.21), sgemm on 1 against 3 threads differed at every inner dimension tried
// (64-1,000) under the Haswell kernels, and at 400, 500, 700 and 1,000 (not 64-384 or 800) under
// the default ones. Callers keep the BLAS itself on one thread (BlasThreadsScope(1)) around them.
// B := B·Lᵀ for m x n B and lower n x n L.
void trmm_right_lower_trans(int64_t m, int64_t n, const float* l, int64_t ldl, float* b, int64_t ldb, int threads = 1);
// Lower triangle of C := alpha·A·Aᵀ + beta·C for n x k A.
void syrk_lower(int64_t n, int64_t k, float alpha, const float* a, int64_t lda, float beta, float* c, int64_t ldc,
                int threads = 1);
// C := alpha·A·Bᵀ + beta·C for m x k A and n x k B.
void gemm_nt(int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda, const float* b, int64_t ldb,
             float beta, float* c, int64_t ldc, int threads = 1);

// Double-precision kernels on column-major blocks for iALS (mf/ials.cpp), one BLAS call each.
// C := alpha·A·B + beta·C for m x k A and k x n B.
void dgemm_nn(int64_t m, int64_t n, int64_t k, double alpha, const double* a, int64_t lda, const double* b, int64_t ldb, double beta,
              double* c, int64_t ldc);
// y := alpha·op(A)·x + beta·y for m x n A; op(A) = Aᵀ when `transpose`.
void dgemv(bool transpose, int64_t m, int64_t n, double alpha, const double* a, int64_t lda, const double* x, double beta, double* y);
// Lower triangle of C := alpha·A·Aᵀ + beta·C for n x k A.
void dsyrk_lower(int64_t n, int64_t k, double alpha, const double* a, int64_t lda, double beta, double* c, int64_t ldc);

// Threads the BLAS uses from now on (no-op when the vendor offers no control); returns the old value.
int set_blas_threads(int threads);
int blas_threads();
// Sets the BLAS thread count for a scope and restores it afterwards.
class BlasThreadsScope {
 public:
  explicit BlasThreadsScope(int threads) : old_(set_blas_threads(threads)) {}
  ~BlasThreadsScope() { set_blas_threads(old_); }
  BlasThreadsScope(const BlasThreadsScope&) = delete;
  BlasThreadsScope& operator=(const BlasThreadsScope&) = delete;

 private:
  int old_;
};

// Vendor and build description, e.g. "OpenBLAS 0.3.21 ... Haswell MAX_THREADS=64".
std::string blas_description();

}  // namespace lapack
}  // namespace cfkit
