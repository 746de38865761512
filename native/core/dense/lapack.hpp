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
