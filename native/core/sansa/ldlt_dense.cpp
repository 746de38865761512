#include <algorithm>
#include <chrono>
#include <cmath>
#include <string>
#include <type_traits>

#include "common/error.hpp"
#include "common/parallel.hpp"
#include "common/timer.hpp"
#include "dense/lapack.hpp"
#include "ease/ease.hpp"
#include "sansa/ldlt.hpp"
#include "sansa/sparsify.hpp"

namespace cfkit {

namespace {

// X with its columns in factor order: column j of the result is item perm[j], rows re-sorted.
Csr permute_columns(const Csr& x, const std::vector<int64_t>& perm, int threads) {
  const int64_t n = x.cols;
  std::vector<int32_t> pos(n);
  for (int64_t j = 0; j < n; ++j) pos[perm[j]] = static_cast<int32_t>(j);
  Csr out;
  out.rows = x.rows;
  out.cols = n;
  out.indptr = x.indptr;
  out.indices.resize(x.indices.size());
  out.values.resize(x.values.size());
  parallel_chunks(x.rows, 256, threads, [&](int64_t b, int64_t e, int) {
    std::vector<std::pair<int32_t, float>> row;
    for (int64_t u = b; u < e; ++u) {
      row.clear();
      for (int64_t p = x.indptr[u]; p < x.indptr[u + 1]; ++p) row.emplace_back(pos[x.indices[p]], x.values[p]);
      std::sort(row.begin(), row.end());
      int64_t q = x.indptr[u];
      for (const auto& [c, v] : row) {
        out.indices[q] = c;
        out.values[q++] = v;
      }
    }
  });
  return out;
}

// Column j of unit-lower L from LAPACK's lower factor, which in the row-major upper buffer the Gram
// came in is row j from the diagonal on: contiguous. Exact zeros (no fill there) are skipped by
// sparsify_columns, so the kept pattern matches the sparse factor's.
template <class T>
struct DenseColumns {
  const T* g;
  int64_t n;
  const std::vector<double>& inv_diag;
  int64_t count(int64_t j) const { return n - j; }
  int32_t row(int64_t j, int64_t t) const { return static_cast<int32_t>(j + t); }
  float value(int64_t j, int64_t t) const {
    return t == 0 ? 1.0f : static_cast<float>(double(g[j * n + j + t]) * inv_diag[j]);
  }
  // Entries compete by their size in the LLᵀ factor, as the reference ranks them (before LDLᵀ scaling).
  const T* ranked(int64_t j) const { return g + j * n + j; }
};

// P(XᵀX + λI)Pᵀ's lower Cholesky factor in T, or an empty buffer when potrf finds it not positive
// definite in T (`bad_column` says where).
template <class T>
Buffer<T> dense_cholesky(const Csr& xp, double l2, TrainContext& ctx, int64_t& bad_column) {
  const int64_t n = xp.cols;
  // The Gram product takes about a third of this stage on ML-1M; potrf the rest.
  Buffer<T> g = gram_upper<T>(xp, ctx, "factorize", 0.3);
  for (int64_t j = 0; j < n; ++j) g[j * n + j] += static_cast<T>(l2);
  ctx.check_abort();
  lapack::BlasThreadsScope scope(ctx.threads());
  const int info = lapack::potrf_lower(n, g.data());
  if (info < 0) fail(ErrorCode::Internal, "potrf rejected argument " + std::to_string(-info));
  if (info > 0) {
    bad_column = info - 1;
    return Buffer<T>();
  }
  return g;
}

template <class T>
Ldlt finish(const Buffer<T>& g, int64_t n, std::vector<int64_t> perm, int64_t target_nnz, TrainContext& ctx,
            SansaStats* stats, std::chrono::steady_clock::time_point t0) {
  Ldlt out;
  out.n = n;
  out.perm = std::move(perm);
  out.d.resize(n);
  std::vector<double> inv_diag(n);
  for (int64_t j = 0; j < n; ++j) {
    const double l = g[j * n + j];
    out.d[j] = l * l;
    inv_diag[j] = 1.0 / l;
  }
  if (stats) {
    stats->dense_factor = true;
    stats->single_factor = std::is_same<T, float>::value;
    stats->seconds_factorize = seconds_since(t0);
  }
  ctx.report("factorize", 1);
  t0 = std::chrono::steady_clock::now();
  int64_t nonzeros = 0;
  out.l = sparsify_columns(DenseColumns<T>{g.data(), n, inv_diag}, n, target_nnz, ctx.threads(), &nonzeros);
  if (stats) {
    stats->nnz_factor_full = nonzeros;
    stats->seconds_sparsify = seconds_since(t0);
    stats->nnz_l = out.l.nnz();
  }
  return out;
}

}  // namespace

int64_t dense_factor_bytes(int64_t n, bool single) { return n * n * (single ? 4 : 8); }

Ldlt ldlt_dense(const Csr& x, double l2, std::vector<int64_t> perm, int64_t target_nnz, bool single, TrainContext& ctx,
                SansaStats* stats) {
  const int64_t n = x.cols;
  auto t0 = std::chrono::steady_clock::now();
  ctx.report("factorize", 0);
  const Csr xp = permute_columns(x, perm, ctx.threads());
  int64_t bad = -1;
  if (single) {
    Buffer<float> g = dense_cholesky<float>(xp, l2, ctx, bad);
    if (g.size()) return finish(g, n, std::move(perm), target_nnz, ctx, stats, t0);
    // float32 rounding broke down where double may not: redo it in double.
  }
  Buffer<double> g = dense_cholesky<double>(xp, l2, ctx, bad);
  if (!g.size())
    fail(ErrorCode::Numeric, "SANSA: XᵀX + l2·I is not positive definite (the Cholesky factorization stopped at column " +
                                 std::to_string(bad) + "); use a larger l2");
  return finish(g, n, std::move(perm), target_nnz, ctx, stats, t0);
}

}  // namespace cfkit
