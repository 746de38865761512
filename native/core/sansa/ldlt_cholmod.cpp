#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <string>


#include "common/error.hpp"
#include "common/timer.hpp"
#include "dense/lapack.hpp"
#include "sansa/cholmod_util.hpp"
#include "sansa/ldlt.hpp"
#include "sansa/permuted_gram.hpp"
#include "sansa/sparsify.hpp"
#include "sansa/supernodal_single.hpp"

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

// Column j of a supernodal LLᵀ factor (CHOLMOD's, or supernodal_factor_single's in its layout) as
// unit-lower L of LDLᵀ: within supernode s, column j = super[s] + c holds rows Ls[pi[s] + c ..]
// (the diagonal first) and values at px[s] + c·(nsrow + 1), column-major with nsrow rows. Reading
// this layout directly skips cholmod_change_factor's copy.
template <class T>
struct SupernodalColumns {
  std::vector<const SuiteSparse_long*> rows;
  std::vector<const T*> vals;
  std::vector<int64_t> len;
  std::vector<double> diag;

  SupernodalColumns(const cholmod_factor& f, const T* x) : rows(f.n), vals(f.n), len(f.n), diag(f.n) {
    const auto* super = static_cast<const SuiteSparse_long*>(f.super);
    const auto* pi = static_cast<const SuiteSparse_long*>(f.pi);
    const auto* px = static_cast<const SuiteSparse_long*>(f.px);
    const auto* ls = static_cast<const SuiteSparse_long*>(f.s);
    for (size_t s = 0; s < f.nsuper; ++s) {
      const int64_t k1 = super[s], k2 = super[s + 1], nsrow = pi[s + 1] - pi[s];
      // The supernode's columns share its row list, each from its own diagonal on.
      for (int64_t t = 1; t < nsrow; ++t)
        if (ls[pi[s] + t] <= ls[pi[s] + t - 1]) fail(ErrorCode::Internal, "CHOLMOD supernode rows are not sorted");
      for (int64_t c = 0; c < k2 - k1; ++c) {
        const int64_t j = k1 + c;
        rows[j] = ls + pi[s] + c;
        vals[j] = x + px[s] + c * (nsrow + 1);
        len[j] = nsrow - c;
        if (rows[j][0] != j) fail(ErrorCode::Internal, "CHOLMOD supernode column does not start at its diagonal");
        diag[j] = double(vals[j][0]);
      }
    }
  }
  int64_t count(int64_t j) const { return len[j]; }
  int32_t row(int64_t j, int64_t t) const { return static_cast<int32_t>(rows[j][t]); }
  float value(int64_t j, int64_t t) const { return t == 0 ? 1.0f : static_cast<float>(double(vals[j][t]) / diag[j]); }
  // Entries compete by their size in the LLᵀ factor, as the reference ranks them (before LDLᵀ scaling).
  const T* ranked(int64_t j) const { return vals[j]; }
};

// LLᵀ -> LDLᵀ: D = diag(L)², columns divided by their diagonal; sparsified on the way out.
template <class T>
void sparsified_ldlt(const cholmod_factor& f, const T* x, int64_t target_nnz, int threads, Ldlt& out, int64_t* nonzeros) {
  const int64_t n = static_cast<int64_t>(f.n);
  const SupernodalColumns<T> cols(f, x);
  out.d.resize(n);
  for (int64_t j = 0; j < n; ++j) out.d[j] = cols.diag[j] * cols.diag[j];
  // Counted as the dense path counts them: the relaxed supernodes' explicit zeros are not entries.
  out.l = sparsify_columns(cols, n, target_nnz, threads, nonzeros);
}

// An upper bound on the condition number of XᵀX + λI: Gershgorin puts every eigenvalue of the Gram
// at most its largest absolute column sum, and λ bounds them from below.
double condition_bound(const Csr& x, double l2) {
  const std::vector<double> sums = gram_abs_column_sum_bounds(x);
  const double top = sums.empty() ? 0.0 : *std::max_element(sums.begin(), sums.end());
  return l2 > 0 ? (top + l2) / l2 : INFINITY;
}

// The most memory populated ahead of the factor's layout; on Gowalla the ordering leaves time for
// about 1.3 GB of the 2.0 GB the factor touches.
constexpr size_t kSpeculativeBytes = size_t(2) << 30;

// What is populated is bounded by a guess at the float32 factor's size, made before the ordering
// exists: XᵀX's lower triangle has at most Σ_u deg(u)²/2 entries, and COLAMD's factors held 4.8
// (Last.fm) to 15.5 (Gowalla) times that. Without the bound a small catalogue paid for pages it
// never used: Last.fm's ordering took 0.22-0.26 s instead of 0.07 s, its peak RSS rose by 100-800
// MiB, and the fit was no faster. Populating even its 148 MB guess still slowed the ordering (the
// page faults contend with COLAMD's), so a guess below kMinSpeculativeBytes populates nothing.
constexpr size_t kMinSpeculativeBytes = size_t(512) << 20;
size_t speculative_bytes(const Csr& x) {
  constexpr double kFillPerGramEntry = 16;
  double pairs = 0;
  for (int64_t u = 0; u < x.rows; ++u) {
    const double d = double(x.row_size(u));
    pairs += d * d / 2;
  }
  const double lower = double(x.cols) * double(x.cols + 1) / 2;
  const double guess = std::min(lower, kFillPerGramEntry * pairs) * sizeof(float);
  return size_t(std::min(guess, double(kSpeculativeBytes)));
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
  // The reference takes P from CHOLMOD's simplicial analysis of XᵀX, which postorders COLAMD's
  // ordering by the elimination tree and keeps dense rows of X in play. Calling COLAMD directly
  // skips both: the exact factor does not care, but ICF drops entries column by column, so its
  // result depends on the column order (ML-1M Recall@20 moved by up to 0.005).
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

Ldlt ldlt_cholmod(const Csr& x, const SansaOptions& opts, int64_t target_nnz, TrainContext& ctx, SansaStats* stats) {
  const int64_t n = x.cols;
  const double l2 = opts.l2;
  auto t0 = std::chrono::steady_clock::now();
  ctx.report("ordering", 0);
  XtView xt(x);
  CholmodCommon common(opts.ordering, true);
  FactorHolder L(common.get());
  // While the ordering runs on one thread, another makes the float32 factor's likely pages resident
  // (common/prefaulted_span.hpp): up to speculative_bytes(x), given back if the factor does not use them.
  const bool well_conditioned = condition_bound(x, l2) <= opts.float32_max_condition;
  std::unique_ptr<PrefaultedSpan> span;
  const size_t speculative = speculative_bytes(x);
  if (opts.single_supernodal && well_conditioned && ctx.threads() >= 2 && speculative >= kMinSpeculativeBytes) {
    const size_t square = size_t(n) * size_t(n) * sizeof(float);  // bounds either side of the split
    span = std::make_unique<PrefaultedSpan>(square, square, speculative);
  }
  L.f = cholmod_l_analyze(&xt.sparse, common.get());
  if (span) span->stop();
  common.check("ordering");
  if (!L.f) fail(ErrorCode::Internal, "CHOLMOD analysis returned nothing");
  ctx.report("ordering", 1);
  if (stats) stats->seconds_ordering = seconds_since(t0);
  ctx.check_abort();

  // CHOLMOD's analysis counts L's nonzeros exactly (before supernode relaxation). Float32 is used
  // when sparsification then drops at least half of them, so its rounding is far below what is
  // dropped, and λ keeps the matrix well enough conditioned for that rounding to stay small.
  const double lower = double(n) * double(n + 1) / 2, lnz = common.get()->lnz;
  const bool single = 2.0 * double(target_nnz) <= lnz && well_conditioned;
  const bool dense = lnz >= opts.dense_factor_min_fill * lower && dense_factor_bytes(n, single) <= opts.dense_factor_max_bytes;
  if (!single || dense) span.reset();  // its pages are given back before anything else is allocated
  if (dense) {
    const auto* p = static_cast<const SuiteSparse_long*>(L.f->Perm);
    std::vector<int64_t> perm(p, p + n);
    cholmod_l_free_factor(&L.f, common.get());
    return ldlt_dense(x, l2, std::move(perm), target_nnz, single, ctx, stats);
  }

  t0 = std::chrono::steady_clock::now();
  ctx.report("factorize", 0);
  Ldlt out;
  out.n = n;
  const SuiteSparse_long* perm = static_cast<const SuiteSparse_long*>(L.f->Perm);
  out.perm.assign(perm, perm + n);
  SingleFactor lx;
  if (single && opts.single_supernodal) lx = supernodal_factor_single(*L.f, x, l2, ctx, span.get());
  span.reset();
  if (!lx) {
    double beta[2] = {l2, 0};
    {
      lapack::BlasThreadsScope scope(ctx.threads());
      cholmod_l_factorize_p(&xt.sparse, beta, nullptr, 0, L.f, common.get());
    }
    common.check("factorize");
    if (common.get()->status == CHOLMOD_NOT_POSDEF || static_cast<int64_t>(L.f->minor) < n)
      fail(ErrorCode::Numeric, "SANSA: XᵀX + l2·I is not positive definite (CHOLMOD stopped at column " +
                                   std::to_string(L.f->minor) + "); use a larger l2");
    if (!L.f->is_super) fail(ErrorCode::Internal, "CHOLMOD returned a simplicial factor");
  }
  ctx.check_abort();
  if (stats) {
    stats->seconds_factorize = seconds_since(t0);
    stats->single_factor = lx != nullptr;
  }
  ctx.report("factorize", 1);

  t0 = std::chrono::steady_clock::now();
  int64_t nonzeros = 0;
  if (lx)
    sparsified_ldlt(*L.f, lx.get(), target_nnz, ctx.threads(), out, &nonzeros);
  else
    sparsified_ldlt(*L.f, static_cast<const double*>(L.f->x), target_nnz, ctx.threads(), out, &nonzeros);
  lx.reset();
  cholmod_l_free_factor(&L.f, common.get());
  if (stats) {
    stats->nnz_factor_full = nonzeros;
    stats->seconds_sparsify = seconds_since(t0);
    stats->nnz_l = out.l.nnz();
  }
  return out;
}

}  // namespace cfkit
