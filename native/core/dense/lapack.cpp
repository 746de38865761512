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
