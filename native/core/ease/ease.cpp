#include "ease/ease.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <string>
#include <type_traits>

#include "common/parallel.hpp"
#include "dense/lapack.hpp"

namespace cfkit {

namespace {

// out += a * row, the inner loop of sparse-times-dense scoring; cloned per ISA and picked at load time.
__attribute__((target_clones("avx512f", "avx2", "default"))) void axpy(float a, const float* row, float* out,
                                                                         int64_t n) {
  for (int64_t j = 0; j < n; ++j) out[j] += a * row[j];
}

struct BlasThreadsScope {
  int old;
  explicit BlasThreadsScope(int t) : old(lapack::set_blas_threads(t)) {}
  ~BlasThreadsScope() { lapack::set_blas_threads(old); }
};

// P (symmetric, upper triangle valid in row-major) -> B = -P diag(1/diag P) with zero diagonal, in
// place and in tiles so the mirrored writes stay cache-friendly.
template <class T>
void inverse_to_weights(T* p, int64_t n, std::vector<float>& b, TrainContext& ctx) {
  std::vector<double> d(n);
  for (int64_t i = 0; i < n; ++i) d[i] = static_cast<double>(p[i * n + i]);
  for (int64_t i = 0; i < n; ++i)
    if (!(d[i] > 0) || !std::isfinite(d[i]))
      fail(ErrorCode::Numeric, "EASE: the inverse has a non-positive diagonal at item " + std::to_string(i) +
                                   "; increase l2");
  const int64_t tile = 64;
  const int64_t tiles = (n + tile - 1) / tile;
  // Each tile pair (ti <= tj) is owned by one task; it reads the upper block (ti, tj) and writes both
  // (ti, tj) and the mirrored (tj, ti). When p and b share storage the read happens before the write.
  parallel_chunks(tiles, 1, ctx.threads(), [&](int64_t tb, int64_t te, int) {
    std::vector<double> blk(tile * tile);
    for (int64_t ti = tb; ti < te; ++ti) {
      for (int64_t tj = ti; tj < tiles; ++tj) {
        int64_t i0 = ti * tile, i1 = std::min(n, i0 + tile), j0 = tj * tile, j1 = std::min(n, j0 + tile);
        for (int64_t i = i0; i < i1; ++i)
          for (int64_t j = j0; j < j1; ++j) {
            // Inside a diagonal tile only j >= i is valid; mirror it for the lower half.
            double v = j >= i ? static_cast<double>(p[i * n + j]) : static_cast<double>(p[j * n + i]);
            blk[(i - i0) * tile + (j - j0)] = v;
          }
        for (int64_t i = i0; i < i1; ++i)
          for (int64_t j = j0; j < j1; ++j) {
            double v = blk[(i - i0) * tile + (j - j0)];
            b[i * n + j] = i == j ? 0.f : static_cast<float>(-v / d[j]);
            if (ti != tj) b[j * n + i] = static_cast<float>(-v / d[i]);
          }
      }
    }
  });
}

template <class T>
std::vector<float> ease_weights(const Csr& x, const EaseOptions& opts, TrainContext& ctx) {
  const int64_t n = x.cols;
  std::vector<T> g = gram_upper<T>(x, ctx);
  ctx.check_abort();
  for (int64_t i = 0; i < n; ++i) g[i * n + i] += static_cast<T>(opts.l2);
  // Row-major upper triangle == column-major lower triangle, which is what LAPACK gets.
  {
    BlasThreadsScope scope(ctx.threads());
    ctx.report("factorize", 0);
    int info = lapack::potrf_lower(n, g.data());
    if (info > 0)
      fail(ErrorCode::Numeric, "EASE: XᵀX + l2·I is not positive definite (Cholesky failed at item " +
                                   std::to_string(info - 1) + "); use a larger l2");
    if (info < 0) fail(ErrorCode::Internal, "potrf rejected argument " + std::to_string(-info));
    ctx.check_abort();
    ctx.report("invert", 0);
    info = lapack::potri_lower(n, g.data());
    if (info != 0) fail(ErrorCode::Numeric, "EASE: inverting the Cholesky factor failed (info " + std::to_string(info) + ")");
  }
  ctx.check_abort();
  ctx.report("weights", 0);
  std::vector<float> b;
  if constexpr (std::is_same<T, float>::value) {
    b = std::move(g);
    inverse_to_weights(b.data(), n, b, ctx);
  } else {
    b.assign(n * n, 0.f);
    inverse_to_weights(g.data(), n, b, ctx);
  }
  ctx.report("weights", 1);
  return b;
}

}  // namespace

template <class T>
std::vector<T> gram_upper(const Csr& x, TrainContext& ctx) {
  const int64_t n = x.cols;
  Csr xt = transpose(x);  // item -> users
  std::vector<T> g(n * n, T(0));
  std::atomic<int64_t> rows_done{0};
  parallel_chunks(n, 32, ctx.threads(), [&](int64_t b, int64_t e, int tid) {
    std::vector<double> acc(n, 0.0);
    for (int64_t i = b; i < e; ++i) {
      for (int64_t p = xt.indptr[i]; p < xt.indptr[i + 1]; ++p) {
        const int64_t u = xt.indices[p];
        const double xui = xt.values[p];
        const int32_t* begin = &x.indices[x.indptr[u]];
        const int32_t* end = begin + x.row_size(u);
        const int32_t* start = std::lower_bound(begin, end, static_cast<int32_t>(i));
        const float* vals = &x.values[x.indptr[u]];
        for (const int32_t* q = start; q < end; ++q) acc[*q] += xui * vals[q - begin];
      }
      T* row = &g[i * n];
      for (int64_t j = i; j < n; ++j) {
        row[j] = static_cast<T>(acc[j]);
        acc[j] = 0.0;
      }
    }
    int64_t d = rows_done += e - b;
    if (tid == 0) {
      ctx.check_abort();
      ctx.report("gram", double(d) / double(n));
    }
  });
  ctx.check_abort();
  return g;
}

template std::vector<float> gram_upper<float>(const Csr&, TrainContext&);
template std::vector<double> gram_upper<double>(const Csr&, TrainContext&);

EaseModel::EaseModel(int64_t n_items, std::vector<float> weights) : n_(n_items), b_(std::move(weights)) {
  require(static_cast<int64_t>(b_.size()) == n_ * n_, "EASE weights must be n_items x n_items");
}

void EaseModel::score(const Csr& inputs, int64_t begin, int64_t end, float* out) const {
  std::fill(out, out + (end - begin) * n_, 0.f);
  for (int64_t r = begin; r < end; ++r) {
    float* o = out + (r - begin) * n_;
    for (int64_t p = inputs.indptr[r]; p < inputs.indptr[r + 1]; ++p)
      axpy(inputs.values[p], &b_[static_cast<int64_t>(inputs.indices[p]) * n_], o, n_);
  }
}

void EaseModel::item_similarity(int32_t item, float* out) const {
  std::copy(b_.begin() + static_cast<int64_t>(item) * n_, b_.begin() + static_cast<int64_t>(item + 1) * n_, out);
}

EaseModel fit_ease(const Csr& x, const EaseOptions& opts, TrainContext& ctx) {
  require(x.rows > 0 && x.cols > 0, "EASE: the training matrix is empty");
  require(x.nnz() > 0, "EASE: the training matrix has no interactions");
  require(std::isfinite(opts.l2) && opts.l2 >= 0, "EASE: l2 must be a finite number >= 0");
  const int64_t n = x.cols;
  require(n <= 46340, "EASE: " + std::to_string(n) + " items exceed the dense limit of 46,340 (use SANSA)");
  ctx.report("gram", 0);
  std::vector<float> b = opts.float64 ? ease_weights<double>(x, opts, ctx) : ease_weights<float>(x, opts, ctx);
  return EaseModel(n, std::move(b));
}

}  // namespace cfkit
