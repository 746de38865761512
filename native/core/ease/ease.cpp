#include "ease/ease.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <string>
#include <type_traits>

#include "common/parallel.hpp"
#include "common/simd_clones.hpp"
#include "dense/lapack.hpp"
#include "dense/stepwise_inverse.hpp"

namespace cfkit {

namespace {

// out += a * row, the inner loop of sparse-times-dense scoring; cloned per ISA and picked at load time.
CFKIT_SIMD_CLONES void axpy(float a, const float* row, float* out, int64_t n) {
  for (int64_t j = 0; j < n; ++j) out[j] += a * row[j];
}


// P (symmetric, upper triangle valid in row-major) -> B = -P diag(1/diag P) with zero diagonal, in
// place when p and b share storage. Tile pairs (ti < tj) are independent tasks: each reads only its
// upper block (ti, tj) and writes the mirrored lower block (tj, ti) first, then its upper block.
template <class T>
void inverse_to_weights(T* p, int64_t n, Buffer<float>& b, TrainContext& ctx) {
  std::vector<double> neg_inv_d(n);
  for (int64_t i = 0; i < n; ++i) {
    double d = static_cast<double>(p[i * n + i]);
    if (!(d > 0) || !std::isfinite(d))
      fail(ErrorCode::Numeric, "EASE: the inverse has a non-positive diagonal at item " + std::to_string(i) + "; increase l2");
    neg_inv_d[i] = -1.0 / d;
  }
  const double* r = neg_inv_d.data();
  float* out = b.data();
  const int64_t tile = 64;
  const int64_t tiles = (n + tile - 1) / tile;
  parallel_chunks(tiles, 1, ctx.threads(), [&](int64_t tb, int64_t te, int) {
    std::vector<double> diag_blk(tile * tile);
    for (int64_t ti = tb; ti < te; ++ti) {
      const int64_t i0 = ti * tile, i1 = std::min(n, i0 + tile);
      // Diagonal tile: only j >= i is valid, so buffer it before overwriting.
      for (int64_t i = i0; i < i1; ++i)
        for (int64_t j = i; j < i1; ++j) diag_blk[(i - i0) * tile + (j - i0)] = static_cast<double>(p[i * n + j]);
      for (int64_t i = i0; i < i1; ++i)
        for (int64_t j = i0; j < i1; ++j) {
          double v = j >= i ? diag_blk[(i - i0) * tile + (j - i0)] : diag_blk[(j - i0) * tile + (i - i0)];
          out[i * n + j] = i == j ? 0.f : static_cast<float>(v * r[j]);
        }
      for (int64_t tj = ti + 1; tj < tiles; ++tj) {
        const int64_t j0 = tj * tile, j1 = std::min(n, j0 + tile);
        for (int64_t i = i0; i < i1; ++i) {
          const T* src = p + i * n;
          for (int64_t j = j0; j < j1; ++j) out[j * n + i] = static_cast<float>(static_cast<double>(src[j]) * r[i]);
        }
        for (int64_t i = i0; i < i1; ++i) {
          const T* src = p + i * n;
          float* dst = out + i * n;
          for (int64_t j = j0; j < j1; ++j) dst[j] = static_cast<float>(static_cast<double>(src[j]) * r[j]);
        }
      }
    }
  });
}

template <class T>
Buffer<float> ease_weights(const Csr& x, const EaseOptions& opts, TrainContext& ctx) {
  const int64_t n = x.cols;
  Buffer<T> g = gram_upper<T>(x, ctx);
  ctx.check_abort();
  for (int64_t i = 0; i < n; ++i) g[i * n + i] += static_cast<T>(opts.l2);
  // Row-major upper triangle == column-major lower triangle, which is what LAPACK gets.
  {
    lapack::BlasThreadsScope scope(ctx.threads());
    ctx.report("factorize", 0);
    // Stepwise, so an abort is honoured between BLAS calls (tens of ms) rather than after potrf/potri.
    int info = cholesky_lower_stepwise(n, g.data(), [&](double f) {
      ctx.report("factorize", f);
      ctx.check_abort();
    });
    if (info > 0)
      fail(ErrorCode::Numeric, "EASE: XᵀX + l2·I is not positive definite (Cholesky failed at item " +
                                   std::to_string(info - 1) + "); use a larger l2");
    if (info < 0) fail(ErrorCode::Internal, "potrf rejected argument " + std::to_string(-info));
    ctx.report("invert", 0);
    info = inverse_from_cholesky_stepwise(n, g.data(), [&](double f) {
      ctx.report("invert", f);
      ctx.check_abort();
    });
    if (info != 0) fail(ErrorCode::Numeric, "EASE: inverting the Cholesky factor failed (info " + std::to_string(info) + ")");
  }
  ctx.check_abort();
  ctx.report("weights", 0);
  Buffer<float> b;
  if constexpr (std::is_same<T, float>::value) {
    b = std::move(g);
    inverse_to_weights(b.data(), n, b, ctx);
  } else {
    b = Buffer<float>(n * n);
    inverse_to_weights(g.data(), n, b, ctx);
  }
  ctx.report("weights", 1);
  return b;
}

}  // namespace

template <class T>
Buffer<T> gram_upper(const Csr& x, TrainContext& ctx, const char* stage, double progress_share) {
  const int64_t n = x.cols;
  // Item -> the positions in x of its entries, in user order. Since entry (u, i) sits at a known
  // position of u's sorted row, the items j >= i of that row start right there: no search needed.
  std::vector<int64_t> col_ptr(n + 1, 0), col_pos(x.nnz());
  for (int32_t c : x.indices) col_ptr[c + 1]++;
  for (int64_t c = 0; c < n; ++c) col_ptr[c + 1] += col_ptr[c];
  {
    std::vector<int64_t> next(col_ptr.begin(), col_ptr.end() - 1);
    for (int64_t p = 0; p < x.nnz(); ++p) col_pos[next[x.indices[p]]++] = p;
  }
  std::vector<int64_t> row_end(x.nnz());
  for (int64_t u = 0; u < x.rows; ++u)
    for (int64_t p = x.indptr[u]; p < x.indptr[u + 1]; ++p) row_end[p] = x.indptr[u + 1];
  Buffer<T> g(n * n);
  std::atomic<int64_t> rows_done{0};
  const int32_t* idx = x.indices.data();
  const float* val = x.values.data();
  parallel_chunks(n, 16, ctx.threads(), [&](int64_t b, int64_t e, int tid) {
    std::vector<double> acc(n, 0.0);
    double* a = acc.data();
    for (int64_t i = b; i < e; ++i) {
      for (int64_t c = col_ptr[i]; c < col_ptr[i + 1]; ++c) {
        const int64_t p0 = col_pos[c], p1 = row_end[p0];
        const double xui = val[p0];
        for (int64_t q = p0; q < p1; ++q) a[idx[q]] += xui * val[q];
      }
      T* row = &g[i * n];
      std::fill(row, row + i, T(0));
      for (int64_t j = i; j < n; ++j) {
        row[j] = static_cast<T>(a[j]);
        a[j] = 0.0;
      }
    }
    int64_t d = rows_done += e - b;
    if (tid == 0) {
      ctx.check_abort();
      ctx.report(stage, progress_share * double(d) / double(n));
    }
  });
  ctx.check_abort();
  return g;
}

template Buffer<float> gram_upper<float>(const Csr&, TrainContext&, const char*, double);
template Buffer<double> gram_upper<double>(const Csr&, TrainContext&, const char*, double);

EaseModel::EaseModel(int64_t n_items, Buffer<float> weights) : n_(n_items), b_(std::move(weights)) {
  require(static_cast<int64_t>(b_.size()) == n_ * n_, "EASE weights must be n_items x n_items");
}

void EaseModel::score(const Csr& inputs, const int32_t*, int64_t begin, int64_t end, float* out) const {
  std::fill(out, out + (end - begin) * n_, 0.f);
  for (int64_t r = begin; r < end; ++r) {
    float* o = out + (r - begin) * n_;
    for (int64_t p = inputs.indptr[r]; p < inputs.indptr[r + 1]; ++p)
      axpy(inputs.values[p], &b_[static_cast<int64_t>(inputs.indices[p]) * n_], o, n_);
  }
}

double EaseModel::estimated_ns(const Csr& inputs) const {
  // One streamed row of B per input item, plus the top-k pass: about 0.4 ns per float on a server core.
  return 0.4 * double(inputs.nnz() + 2 * inputs.rows) * double(n_);
}

void EaseModel::item_similarity(int32_t item, float* out) const {
  const float* row = b_.data() + static_cast<int64_t>(item) * n_;
  std::copy(row, row + n_, out);
}

EaseModel fit_ease(const Csr& x, const EaseOptions& opts, TrainContext& ctx) {
  require(x.rows > 0 && x.cols > 0, "EASE: the training matrix is empty");
  require(x.nnz() > 0, "EASE: the training matrix has no interactions");
  require(std::isfinite(opts.l2) && opts.l2 >= 0, "EASE: l2 must be a finite number >= 0");
  const int64_t n = x.cols;
  require(n <= 46340, "EASE: " + std::to_string(n) + " items exceed the dense limit of 46,340 (use SANSA)");
  ctx.report("gram", 0);
  Buffer<float> b = opts.float64 ? ease_weights<double>(x, opts, ctx) : ease_weights<float>(x, opts, ctx);
  return EaseModel(n, std::move(b));
}

}  // namespace cfkit
