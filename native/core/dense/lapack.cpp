#include "dense/lapack.hpp"

#include <dlfcn.h>

#include <climits>
#include <cstddef>
#include <mutex>

#include "common/error.hpp"

extern "C" {
void spotrf_(const char* uplo, const int* n, float* a, const int* lda, int* info, size_t);
void dpotrf_(const char* uplo, const int* n, double* a, const int* lda, int* info, size_t);
void spotri_(const char* uplo, const int* n, float* a, const int* lda, int* info, size_t);
void dpotri_(const char* uplo, const int* n, double* a, const int* lda, int* info, size_t);
void strtri_(const char* uplo, const char* diag, const int* n, float* a, const int* lda, int* info, size_t, size_t);
void strmm_(const char* side, const char* uplo, const char* transa, const char* diag, const int* m, const int* n,
            const float* alpha, const float* a, const int* lda, float* b, const int* ldb, size_t, size_t, size_t, size_t);
void ssyrk_(const char* uplo, const char* trans, const int* n, const int* k, const float* alpha, const float* a,
            const int* lda, const float* beta, float* c, const int* ldc, size_t, size_t);
void sgemm_(const char* transa, const char* transb, const int* m, const int* n, const int* k, const float* alpha,
            const float* a, const int* lda, const float* b, const int* ldb, const float* beta, float* c, const int* ldc,
            size_t, size_t);
void spotrs_(const char* uplo, const int* n, const int* nrhs, const float* a, const int* lda, float* b, const int* ldb,
             int* info, size_t);
void dpotrs_(const char* uplo, const int* n, const int* nrhs, const double* a, const int* lda, double* b,
             const int* ldb, int* info, size_t);
}

namespace cfkit {
namespace lapack {

namespace {
int as_int(int64_t n) {
  if (n > INT_MAX) fail(ErrorCode::Input, "matrix dimension exceeds the 32-bit LAPACK interface");
  return static_cast<int>(n);
}

// OpenBLAS-only entry points are looked up at run time so another BLAS still links and loads.
template <class F>
F vendor_symbol(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_DEFAULT, name));
}
}  // namespace

int potrf_lower(int64_t n, float* a) {
  int nn = as_int(n), info = 0;
  spotrf_("L", &nn, a, &nn, &info, 1);
  return info;
}
int potrf_lower(int64_t n, double* a) {
  int nn = as_int(n), info = 0;
  dpotrf_("L", &nn, a, &nn, &info, 1);
  return info;
}
int potri_lower(int64_t n, float* a) {
  int nn = as_int(n), info = 0;
  spotri_("L", &nn, a, &nn, &info, 1);
  return info;
}
int potri_lower(int64_t n, double* a) {
  int nn = as_int(n), info = 0;
  dpotri_("L", &nn, a, &nn, &info, 1);
  return info;
}
int potrs_lower(int64_t n, int64_t nrhs, const float* a, float* b) {
  int nn = as_int(n), r = as_int(nrhs), info = 0;
  spotrs_("L", &nn, &r, a, &nn, b, &nn, &info, 1);
  return info;
}
int potrs_lower(int64_t n, int64_t nrhs, const double* a, double* b) {
  int nn = as_int(n), r = as_int(nrhs), info = 0;
  dpotrs_("L", &nn, &r, a, &nn, b, &nn, &info, 1);
  return info;
}

int potrf_lower(int64_t n, float* a, int64_t lda) {
  int nn = as_int(n), ld = as_int(lda), info = 0;
  spotrf_("L", &nn, a, &ld, &info, 1);
  return info;
}
int trtri_lower(int64_t n, float* a, int64_t lda) {
  int nn = as_int(n), ld = as_int(lda), info = 0;
  strtri_("L", "N", &nn, a, &ld, &info, 1, 1);
  return info;
}
void trmm_right_lower_trans(int64_t m, int64_t n, const float* l, int64_t ldl, float* b, int64_t ldb) {
  const int mm = as_int(m), nn = as_int(n), la = as_int(ldl), lb = as_int(ldb);
  const float one = 1.f;
  if (mm > 0 && nn > 0) strmm_("R", "L", "T", "N", &mm, &nn, &one, l, &la, b, &lb, 1, 1, 1, 1);
}
void syrk_lower(int64_t n, int64_t k, float alpha, const float* a, int64_t lda, float beta, float* c, int64_t ldc) {
  const int nn = as_int(n), kk = as_int(k), la = as_int(lda), lc = as_int(ldc);
  if (nn > 0) ssyrk_("L", "N", &nn, &kk, &alpha, a, &la, &beta, c, &lc, 1, 1);
}
void gemm_nt(int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda, const float* b, int64_t ldb,
             float beta, float* c, int64_t ldc) {
  const int mm = as_int(m), nn = as_int(n), kk = as_int(k), la = as_int(lda), lb = as_int(ldb), lc = as_int(ldc);
  if (mm > 0 && nn > 0) sgemm_("N", "T", &mm, &nn, &kk, &alpha, a, &la, b, &lb, &beta, c, &lc, 1, 1);
}

int set_blas_threads(int threads) {
  static std::mutex m;
  std::lock_guard<std::mutex> lock(m);
  int old = blas_threads();
  auto set = vendor_symbol<void (*)(int)>("openblas_set_num_threads");
  if (set && threads >= 1) set(threads);
  return old;
}

int blas_threads() {
  auto get = vendor_symbol<int (*)()>("openblas_get_num_threads");
  return get ? get() : 1;
}

std::string blas_description() {
  auto config = vendor_symbol<char* (*)()>("openblas_get_config");
  auto core = vendor_symbol<char* (*)()>("openblas_get_corename");
  if (!config) return "unknown BLAS (no OpenBLAS symbols found)";
  std::string s = config();
  if (core) s += std::string(" core=") + core();
  return s;
}

}  // namespace lapack
}  // namespace cfkit
