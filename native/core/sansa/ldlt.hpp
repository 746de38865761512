// Sparse LDLᵀ of P(XᵀX + λI)Pᵀ, with L unit lower triangular, by CHOLMOD (exact, then sparsified)
// or by incomplete Cholesky within a nonzero budget.
#pragma once
#include <cstdint>
#include <vector>

#include "common/context.hpp"
#include "sansa/options.hpp"
#include "sparse/csr.hpp"

namespace cfkit {

struct Ldlt {
  int64_t n = 0;
  // perm[j] is the original item at position j: (P A Pᵀ)_{ij} = A_{perm[i], perm[j]}.
  std::vector<int64_t> perm;
  // Unit lower L by columns (row c of this Csr is column c of L), the unit diagonal stored first.
  Csr l;
  std::vector<double> d;
};

// Fill-reducing order of the items for XᵀX from a symbolic analysis of Xᵀ (XᵀX is never formed).
std::vector<int64_t> order_items(const Csr& x, Ordering ordering, TrainContext& ctx);

// Exact factorization by CHOLMOD's supernodal AAᵀ path (A = Xᵀ, β = λ), then global magnitude
// sparsification of L to `target_nnz` (diagonal kept). When CHOLMOD's symbolic analysis predicts a
// nearly dense factor (opts.dense_factor_min_fill), the numeric step is ldlt_dense instead.
Ldlt ldlt_cholmod(const Csr& x, const SansaOptions& opts, int64_t target_nnz, TrainContext& ctx, SansaStats* stats);

// The exact factor of P(XᵀX + λI)Pᵀ for a given order, computed densely: the Gram matrix of X's
// permuted columns (accumulated in double), LAPACK potrf, then the same sparsification. `single`
// stores and factors in float32 (retried in double if float32 rounding breaks it down). Needs
// dense_factor_bytes(n, single) on top of X.
Ldlt ldlt_dense(const Csr& x, double l2, std::vector<int64_t> perm, int64_t target_nnz, bool single, TrainContext& ctx,
                SansaStats* stats);
int64_t dense_factor_bytes(int64_t n, bool single);

// Incomplete Cholesky of P(X̃ᵀX̃ + λI)Pᵀ, X̃ = X·diag(1/√‖(XᵀX)_{:,j}‖), with `target_nnz` entries in
// all (diagonal included). Columns of XᵀX are computed from X when needed, never stored.
Ldlt ldlt_icf(const Csr& x, double l2, int64_t target_nnz, Ordering ordering, const IcfOptions& icf,
              TrainContext& ctx, SansaStats* stats);

// The ICF column scaling s_j = 1/√‖(XᵀX)_{:,j}‖₂ (1 for empty columns).
std::vector<double> icf_column_scaling(const Csr& x, TrainContext& ctx);

}  // namespace cfkit
