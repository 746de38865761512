#include "dense/lapack.hpp"

#include <dlfcn.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstddef>
#include <mutex>
#include <utility>
#include <vector>

#include "common/error.hpp"
#include "common/parallel.hpp"

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
void dgemm_(const char* transa, const char* transb, const int* m, const int* n, const int* k, const double* alpha,
            const double* a, const int* lda, const double* b, const int* ldb, const double* beta, double* c, const int* ldc,
            size_t, size_t);
void dgemv_(const char* trans, const int* m, const int* n, const double* alpha, const double* a, const int* lda, const double* x,
            const int* incx, const double* beta, double* y, const int* incy, size_t);
void dsyrk_(const char* uplo, const char* trans, const int* n, const int* k, const double* alpha, const double* a,
            const int* lda, const double* beta, double* c, const int* ldc, size_t, size_t);
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
namespace {
// Products of fewer multiply-adds than this are one call (about 0.1 ms of one core).
constexpr double kSerialWork = double(1 << 23);
// Tiles are kMaxTile square, halved down to kMinTile while C has fewer than kMinTiles of them, so
// that mid-sized products still spread over the threads. A tile's call packs its rows of A and B
// once: at 2,048 that is about 1/1000 of its multiply-adds.
constexpr int64_t kMaxTile = 2048, kMinTile = 256, kMinTiles = 16;

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

int64_t tile_edge(int64_t m, int64_t n) {
  int64_t t = kMaxTile;
  while (t > kMinTile && ceil_div(m, t) * ceil_div(n, t) < kMinTiles) t /= 2;
  return t;
}

// Runs task(0..count−1) on up to `threads` threads, each task wholly on one of them.
template <class Task>
void run_tiles(int64_t count, int threads, Task&& task) {
  threads = static_cast<int>(std::min<int64_t>(std::max(threads, 1), count));
  std::atomic<int64_t> next{0};
  run_threads(threads, [&](int) {
    for (int64_t i; (i = next.fetch_add(1, std::memory_order_relaxed)) < count;) task(i);
  });
}

void strmm_call(int64_t m, int64_t n, const float* l, int64_t ldl, float* b, int64_t ldb) {
  const int mm = as_int(m), nn = as_int(n), la = as_int(ldl), lb = as_int(ldb);
  const float one = 1.f;
  strmm_("R", "L", "T", "N", &mm, &nn, &one, l, &la, b, &lb, 1, 1, 1, 1);
}
void ssyrk_call(int64_t n, int64_t k, float alpha, const float* a, int64_t lda, float beta, float* c, int64_t ldc) {
  const int nn = as_int(n), kk = as_int(k), la = as_int(lda), lc = as_int(ldc);
  ssyrk_("L", "N", &nn, &kk, &alpha, a, &la, &beta, c, &lc, 1, 1);
}
void sgemm_call(int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda, const float* b, int64_t ldb,
                float beta, float* c, int64_t ldc) {
  const int mm = as_int(m), nn = as_int(n), kk = as_int(k), la = as_int(lda), lb = as_int(ldb), lc = as_int(ldc);
  sgemm_("N", "T", &mm, &nn, &kk, &alpha, a, &la, b, &lb, &beta, c, &lc, 1, 1);
}
}  // namespace

void trmm_right_lower_trans(int64_t m, int64_t n, const float* l, int64_t ldl, float* b, int64_t ldb, int threads) {
  if (m <= 0 || n <= 0) return;
  if (double(m) * double(n) * double(n) / 2 < kSerialWork) return strmm_call(m, n, l, ldl, b, ldb);
  // B's rows are independent.
  const int64_t rows = tile_edge(m, 1);
  run_tiles(ceil_div(m, rows), threads, [&](int64_t i) {
    const int64_t r0 = i * rows;
    strmm_call(std::min(rows, m - r0), n, l, ldl, b + r0, ldb);
  });
}

void syrk_lower(int64_t n, int64_t k, float alpha, const float* a, int64_t lda, float beta, float* c, int64_t ldc, int threads) {
  if (n <= 0) return;
  if (double(n) * double(n) * double(k) / 2 < kSerialWork) return ssyrk_call(n, k, alpha, a, lda, beta, c, ldc);
  // The tiles on and below the diagonal, column by column: (i, j) for j ≤ i < blocks.
  const int64_t t = tile_edge(n, n), blocks = ceil_div(n, t);
  std::vector<std::pair<int32_t, int32_t>> tiles;
  tiles.reserve(size_t(blocks * (blocks + 1) / 2));
  for (int64_t j = 0; j < blocks; ++j)
    for (int64_t i = j; i < blocks; ++i) tiles.emplace_back(int32_t(i), int32_t(j));
  run_tiles(int64_t(tiles.size()), threads, [&](int64_t q) {
    const int64_t i0 = tiles[q].first * t, j0 = tiles[q].second * t, mi = std::min(t, n - i0), nj = std::min(t, n - j0);
    float* cij = c + i0 + j0 * ldc;
    if (i0 == j0) ssyrk_call(nj, k, alpha, a + j0, lda, beta, cij, ldc);
    else sgemm_call(mi, nj, k, alpha, a + i0, lda, a + j0, lda, beta, cij, ldc);
  });
}

void gemm_nt(int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda, const float* b, int64_t ldb,
             float beta, float* c, int64_t ldc, int threads) {
  if (m <= 0 || n <= 0) return;
  if (double(m) * double(n) * double(k) < kSerialWork) return sgemm_call(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  const int64_t t = tile_edge(m, n), row_tiles = ceil_div(m, t);
  run_tiles(row_tiles * ceil_div(n, t), threads, [&](int64_t q) {
    const int64_t i0 = (q % row_tiles) * t, j0 = (q / row_tiles) * t;
    sgemm_call(std::min(t, m - i0), std::min(t, n - j0), k, alpha, a + i0, lda, b + j0, ldb, beta, c + i0 + j0 * ldc, ldc);
  });
}

void dgemm_nn(int64_t m, int64_t n, int64_t k, double alpha, const double* a, int64_t lda, const double* b, int64_t ldb, double beta,
              double* c, int64_t ldc) {
  const int mm = as_int(m), nn = as_int(n), kk = as_int(k), la = as_int(lda), lb = as_int(ldb), lc = as_int(ldc);
  if (mm > 0 && nn > 0) dgemm_("N", "N", &mm, &nn, &kk, &alpha, a, &la, b, &lb, &beta, c, &lc, 1, 1);
}
void dgemv(bool transpose, int64_t m, int64_t n, double alpha, const double* a, int64_t lda, const double* x, double beta, double* y) {
  const int mm = as_int(m), nn = as_int(n), la = as_int(lda), one = 1;
  if (mm > 0 && nn > 0) dgemv_(transpose ? "T" : "N", &mm, &nn, &alpha, a, &la, x, &one, &beta, y, &one, 1);
}
void dsyrk_lower(int64_t n, int64_t k, double alpha, const double* a, int64_t lda, double beta, double* c, int64_t ldc) {
  const int nn = as_int(n), kk = as_int(k), la = as_int(lda), lc = as_int(ldc);
  if (nn > 0) dsyrk_("L", "N", &nn, &kk, &alpha, a, &la, &beta, c, &lc, 1, 1);
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
