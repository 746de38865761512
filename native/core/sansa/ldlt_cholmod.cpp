#include <algorithm>
#include <chrono>
#include <cmath>
#include <string>

#include <colamd.h>

#include "common/error.hpp"
#include "common/timer.hpp"
#include "dense/lapack.hpp"
#include "sansa/cholmod_util.hpp"
#include "sansa/ldlt.hpp"
#include "sansa/sparsify.hpp"

namespace cfkit {

namespace {

struct FactorHolder {
  cholmod_factor* f = nullptr;
  cholmod_common* c;
  explicit FactorHolder(cholmod_common* cc) : c(cc) {}
  ~FactorHolder() {
    if (f) cholmod_l_free_factor(&f, c);
  }
};

// Keeps the diagonal first and the rest of every column in increasing row order.
void sort_off_diagonals(Csr& cols) {
  std::vector<std::pair<int32_t, float>> tmp;
  for (int64_t c = 0; c < cols.rows; ++c) {
    const int64_t b = cols.indptr[c] + 1, e = cols.indptr[c + 1];
    bool sorted = true;
    for (int64_t p = b + 1; p < e && sorted; ++p) sorted = cols.indices[p - 1] < cols.indices[p];
    if (sorted) continue;
    tmp.clear();
    for (int64_t p = b; p < e; ++p) tmp.emplace_back(cols.indices[p], cols.values[p]);
    std::sort(tmp.begin(), tmp.end());
    for (int64_t p = b; p < e; ++p) {
      cols.indices[p] = tmp[p - b].first;
      cols.values[p] = tmp[p - b].second;
    }
  }
}

}  // namespace

std::vector<int64_t> order_items(const Csr& x, Ordering ordering, TrainContext& ctx) {
  const int64_t n = x.cols;
  std::vector<int64_t> perm(n);
  if (ordering == Ordering::Natural) {
    for (int64_t j = 0; j < n; ++j) perm[j] = j;
    return perm;
  }
  ctx.report("ordering", 0);
  if (ordering == Ordering::Colamd) {
    // COLAMD orders the columns of X (the items) for XᵀX straight from X's pattern; X in CSC is Xᵀ
    // in CSR. This skips the symbolic factorization that cholmod_analyze would add.
    Csr xt = transpose(x);
    const SuiteSparse_long nnz = xt.nnz();
    const size_t alen = colamd_l_recommended(nnz, x.rows, n);
    if (alen == 0) fail(ErrorCode::Input, "ordering: matrix too large for COLAMD");
    std::vector<SuiteSparse_long> a(alen), p(xt.indptr.begin(), xt.indptr.end());
    std::copy(xt.indices.begin(), xt.indices.end(), a.begin());
    double knobs[COLAMD_KNOBS];
    SuiteSparse_long stats[COLAMD_STATS];
    colamd_l_set_defaults(knobs);
    if (!colamd_l(x.rows, n, static_cast<SuiteSparse_long>(alen), a.data(), p.data(), knobs, stats))
      fail(ErrorCode::Internal, "COLAMD failed with status " + std::to_string(stats[COLAMD_STATUS]));
    for (int64_t j = 0; j < n; ++j) perm[j] = p[j];
    ctx.report("ordering", 1);
    return perm;
  }
  XtView xt(x);
  CholmodCommon common(ordering, false);
  FactorHolder sym(common.get());
  sym.f = cholmod_l_analyze(&xt.sparse, common.get());
  common.check("ordering");
  if (!sym.f) fail(ErrorCode::Internal, "ordering: CHOLMOD analysis returned nothing");
  const SuiteSparse_long* p = static_cast<const SuiteSparse_long*>(sym.f->Perm);
  for (int64_t j = 0; j < n; ++j) perm[j] = p[j];
  ctx.report("ordering", 1);
  return perm;
}

Ldlt ldlt_cholmod(const Csr& x, double l2, int64_t target_nnz, Ordering ordering, TrainContext& ctx,
                  SansaStats* stats) {
  const int64_t n = x.cols;
  auto t0 = std::chrono::steady_clock::now();
  ctx.report("ordering", 0);
  XtView xt(x);
  CholmodCommon common(ordering, true);
  FactorHolder L(common.get());
  L.f = cholmod_l_analyze(&xt.sparse, common.get());
  common.check("ordering");
  if (!L.f) fail(ErrorCode::Internal, "CHOLMOD analysis returned nothing");
  ctx.report("ordering", 1);
  if (stats) stats->seconds_ordering = seconds_since(t0);
  ctx.check_abort();

  t0 = std::chrono::steady_clock::now();
  ctx.report("factorize", 0);
  double beta[2] = {l2, 0};
  {
    lapack::BlasThreadsScope scope(ctx.threads());
    cholmod_l_factorize_p(&xt.sparse, beta, nullptr, 0, L.f, common.get());
  }
  common.check("factorize");
  if (common.get()->status == CHOLMOD_NOT_POSDEF || static_cast<int64_t>(L.f->minor) < n)
    fail(ErrorCode::Numeric, "SANSA: XᵀX + l2·I is not positive definite (CHOLMOD stopped at column " +
                                 std::to_string(L.f->minor) + "); use a larger l2");
  cholmod_l_change_factor(CHOLMOD_REAL, 1, 0, 1, 1, L.f, common.get());  // simplicial, packed LLᵀ
  common.check("factor conversion");
  ctx.check_abort();

  Ldlt out;
  out.n = n;
  out.perm.resize(n);
  const SuiteSparse_long* perm = static_cast<const SuiteSparse_long*>(L.f->Perm);
  for (int64_t j = 0; j < n; ++j) out.perm[j] = perm[j];
  const SuiteSparse_long* lp = static_cast<const SuiteSparse_long*>(L.f->p);
  const SuiteSparse_long* li = static_cast<const SuiteSparse_long*>(L.f->i);
  const SuiteSparse_long* lnz = static_cast<const SuiteSparse_long*>(L.f->nz);
  const double* lx = static_cast<const double*>(L.f->x);
  int64_t total = 0;
  for (int64_t j = 0; j < n; ++j) total += lnz[j];
  if (stats) stats->nnz_factor_full = total;
  // LLᵀ -> LDLᵀ: D = diag(L)², columns divided by their diagonal.
  out.d.resize(n);
  out.l.rows = n;
  out.l.cols = n;
  out.l.indptr.assign(n + 1, 0);
  out.l.indices.resize(total);
  out.l.values.resize(total);
  int64_t q = 0;
  for (int64_t j = 0; j < n; ++j) {
    const int64_t b = lp[j], e = b + lnz[j];
    if (li[b] != j) fail(ErrorCode::Internal, "CHOLMOD factor column does not start at its diagonal");
    const double djj = lx[b];
    out.d[j] = djj * djj;
    for (int64_t p = b; p < e; ++p) {
      out.l.indices[q] = static_cast<int32_t>(li[p]);
      out.l.values[q] = p == b ? 1.0f : static_cast<float>(lx[p] / djj);
      ++q;
    }
    out.l.indptr[j + 1] = q;
  }
  cholmod_l_free_factor(&L.f, common.get());
  sort_off_diagonals(out.l);
  if (stats) stats->seconds_factorize = seconds_since(t0);
  ctx.report("factorize", 1);

  t0 = std::chrono::steady_clock::now();
  sparsify_keep_diagonal(out.l, target_nnz);
  if (stats) {
    stats->seconds_sparsify = seconds_since(t0);
    stats->nnz_l = out.l.nnz();
  }
  return out;
}

}  // namespace cfkit
