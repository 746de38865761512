// Left-looking incomplete Cholesky with a global nonzero budget (a variant of Lin & Moré's icfm, as
// in the SANSA reference), computing each column of the Gramian from X when it is needed.
//
// Column j (in the permuted order) is a = Ã[j+1:, j] − Σ_k L[j+1:, k]·L[j, k] over earlier columns
// k that kept an entry in row j. Its diagonal comes from d, which starts at Ã_jj + shift and loses
// L_ij² for every computed L_ij, kept or dropped (the reference's Schur-complement update). Column j
// keeps its fair share floor((budget − stored so far) / (n − j)) of the largest |a_i|. As in the
// reference, "stored so far" counts the diagonals already stored but no slots are held back for the
// diagonals still to come: early columns may keep one entry more than an even split would give them,
// and the shares taper off when columns fill up. This changes which entries survive at low
// densities (ML-1M at 1e-3 has about 3.7 slots a column), so it is kept for fidelity.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <string>

#include "common/error.hpp"
#include "common/timer.hpp"
#include "common/parallel.hpp"
#include "sansa/ldlt.hpp"
#include "sansa/permuted_gram.hpp"

namespace cfkit {

namespace {


// Column c of XᵀX into g, which must be drained.
void gram_column(const Csr& x, const Csr& xt, int64_t c, GramAccumulator& g) {
  for (int64_t p = xt.indptr[c]; p < xt.indptr[c + 1]; ++p) {
    const int64_t u = xt.indices[p];
    const double xuc = xt.values[p];
    for (int64_t q = x.indptr[u]; q < x.indptr[u + 1]; ++q) g.add(x.indices[q], xuc * double(x.values[q]));
  }
}

// Lower parts of upcoming columns of P Ã Pᵀ, computed in parallel a window at a time so the
// sequential factorization only consumes them. A window is sized by the multiply-adds it takes
// (about 1M), which also bounds the entries it holds (12 bytes each).
class GramColumnWindow {
 public:
  GramColumnWindow(const PermutedX& xp, int threads) : xp_(xp), threads_(threads), n_(xp.cols.rows) {
    // Work per column is the length of its users' tails: used to size windows.
    cost_.resize(n_);
    for (int64_t j = 0; j < n_; ++j) {
      int64_t w = 0;
      for (int64_t p = xp.cols.indptr[j]; p < xp.cols.indptr[j + 1]; ++p) {
        const int64_t u = xp.cols.indices[p];
        w += xp.rows.indptr[u + 1] - row_tail(xp.rows, u, j);
      }
      cost_[j] = w;
    }
  }

  // Row indices (permuted, > j) and values of column j; valid until the next call that refills.
  void get(int64_t j, const std::vector<int32_t>*& rows, const std::vector<double>*& vals) {
    if (j < begin_ || j >= end_) fill(j);
    rows = &rows_[j - begin_];
    vals = &vals_[j - begin_];
  }

 private:
  void fill(int64_t j0) {
    int64_t j1 = j0, budget = 0;
    while (j1 < n_ && (j1 == j0 || budget + cost_[j1] <= (int64_t(1) << 20)) && j1 - j0 < 4096) budget += cost_[j1++];
    begin_ = j0;
    end_ = j1;
    rows_.assign(j1 - j0, {});
    vals_.assign(j1 - j0, {});
    parallel_chunks(j1 - j0, 4, threads_, [&](int64_t b, int64_t e, int) {
      GramAccumulator g(n_);
      for (int64_t t = b; t < e; ++t) {
        const int64_t j = j0 + t;
        lower_gram_column(xp_.rows, xp_.cols, j, xp_.scale.data(), g);
        rows_[t].reserve(g.touched.size());
        vals_[t].reserve(g.touched.size());
        g.drain([&](int32_t i, double v) {
          if (v != 0.0) {
            rows_[t].push_back(i);
            vals_[t].push_back(v);
          }
        });
      }
    });
  }

  const PermutedX& xp_;
  int threads_;
  int64_t n_;
  std::vector<int64_t> cost_;
  int64_t begin_ = 0, end_ = 0;
  std::vector<std::vector<int32_t>> rows_;
  std::vector<std::vector<double>> vals_;
};

struct IcfFactor {
  std::vector<int64_t> col_ptr;
  std::vector<int32_t> rows;
  std::vector<double> vals;  // column j: L_jj first, then kept L_ij in increasing i
};

// One attempt at a given diagonal shift; returns false on breakdown (some d_j <= 0).
bool icf_attempt(const PermutedX& xp, const std::vector<int64_t>& perm, const std::vector<double>& diag, double shift,
                 int64_t budget, IcfFactor& f, TrainContext& ctx) {
  const int64_t n = static_cast<int64_t>(perm.size());
  std::vector<double> d(n);
  for (int64_t j = 0; j < n; ++j) d[j] = diag[perm[j]] + shift;
  f.col_ptr.assign(n + 1, 0);
  f.rows.clear();
  f.vals.clear();
  // Off-diagonals never exceed the budget (each share is at most what is left of it), so the factor
  // holds at most budget + n entries.
  f.rows.reserve(n + budget);
  f.vals.reserve(n + budget);
  std::vector<int64_t> head(n, -1), link(n, -1), next_pos(n, 0);
  std::vector<double> a(n, 0.0);
  std::vector<uint8_t> amark(n, 0);
  std::vector<int32_t> cand;
  GramColumnWindow window(xp, ctx.threads());
  std::vector<std::pair<double, int32_t>> ranked;
  for (int64_t j = 0; j < n; ++j) {
    if ((j & 255) == 0) {
      ctx.check_abort();
      ctx.report("factorize", double(j) / double(n));
    }
    // a = strictly lower part of column j of P Ã Pᵀ.
    const std::vector<int32_t>* grows;
    const std::vector<double>* gvals;
    window.get(j, grows, gvals);
    cand.clear();
    for (size_t t = 0; t < grows->size(); ++t) {
      const int32_t i = (*grows)[t];
      a[i] = (*gvals)[t];
      amark[i] = 1;
      cand.push_back(i);
    }
    // Left-looking updates from every earlier column with an entry in row j.
    for (int64_t k = head[j]; k >= 0;) {
      const int64_t next_k = link[k];
      const int64_t pos = next_pos[k];
      const double ljk = f.vals[pos];
      const int64_t end = f.col_ptr[k + 1];
      for (int64_t p = pos + 1; p < end; ++p) {
        const int32_t i = f.rows[p];
        a[i] -= f.vals[p] * ljk;
        if (!amark[i]) {
          amark[i] = 1;
          cand.push_back(i);
        }
      }
      next_pos[k] = pos + 1;
      if (pos + 1 < end) {
        const int32_t r = f.rows[pos + 1];
        link[k] = head[r];
        head[r] = k;
      }
      k = next_k;
    }
    head[j] = -1;
    if (!(d[j] > 0)) {
      for (int32_t i : cand) {
        a[i] = 0.0;
        amark[i] = 0;
      }
      return false;
    }
    const double ljj = std::sqrt(d[j]);
    const int64_t stored = static_cast<int64_t>(f.rows.size());
    const int64_t share = std::max<int64_t>(0, (budget - stored) / (n - j));
    ranked.clear();
    for (int32_t i : cand)
      if (a[i] != 0.0) ranked.emplace_back(std::fabs(a[i]), i);
    // Largest |a_i| first, ties to the lower row: deterministic.
    auto better = [](const std::pair<double, int32_t>& p, const std::pair<double, int32_t>& q) {
      return p.first > q.first || (p.first == q.first && p.second < q.second);
    };
    const int64_t keep = std::min<int64_t>(share, static_cast<int64_t>(ranked.size()));
    if (keep < static_cast<int64_t>(ranked.size()))
      std::nth_element(ranked.begin(), ranked.begin() + keep, ranked.end(), better);
    // The Schur-complement diagonal loses every computed entry, kept or dropped.
    for (const auto& r : ranked) {
      const double lij = a[r.second] / ljj;
      d[r.second] -= lij * lij;
    }
    std::sort(ranked.begin(), ranked.begin() + keep, [](const auto& p, const auto& q) { return p.second < q.second; });
    f.rows.push_back(static_cast<int32_t>(j));
    f.vals.push_back(ljj);
    for (int64_t t = 0; t < keep; ++t) {
      f.rows.push_back(ranked[t].second);
      f.vals.push_back(a[ranked[t].second] / ljj);
    }
    f.col_ptr[j + 1] = static_cast<int64_t>(f.rows.size());
    next_pos[j] = f.col_ptr[j] + 1;
    if (keep > 0) {
      const int32_t r = f.rows[f.col_ptr[j] + 1];
      link[j] = head[r];
      head[r] = j;
    }
    for (int32_t i : cand) {
      a[i] = 0.0;
      amark[i] = 0;
    }
  }
  return true;
}

}  // namespace

namespace {

// True when every Gramian entry, and every sum of squares of a column's entries, is an integer
// below 2^53: X holds integers and, for every column j, (Σ_u |x_uj|·Σ_k |x_uk|)² < 2^53. Sums of
// such numbers are exact in double in any order.
bool gram_norms_are_exact(const Csr& x) {
  for (float v : x.values)
    if (v != std::trunc(v)) return false;
  for (double bound : gram_abs_column_sum_bounds(x))
    if (bound * bound >= 9007199254740992.0) return false;
  return true;
}

// ‖column c of XᵀX‖² for every c from the lower triangle only: each G_kc with k > c counts for
// both columns. Every value is an exact integer (gram_norms_are_exact), so the per-thread partial
// sums add up to the same bits whichever thread computed what.
std::vector<double> gram_column_norms_symmetric(const Csr& x, const Csr& xt, int threads) {
  const int64_t n = x.cols;
  const int64_t parts = std::max(1, threads);
  std::vector<std::vector<double>> partial(parts, std::vector<double>(n, 0.0));
  parallel_chunks(n, 16, threads, [&](int64_t b, int64_t e, int tid) {
    GramAccumulator g(n);
    std::vector<double>& norm = partial[tid];
    for (int64_t c = b; c < e; ++c) {
      double diag = 0;
      for (int64_t p = xt.indptr[c]; p < xt.indptr[c + 1]; ++p) diag += double(xt.values[p]) * xt.values[p];
      lower_gram_column(x, xt, c, nullptr, g);
      norm[c] += diag * diag;
      g.drain([&](int32_t k, double v) {
        norm[c] += v * v;
        norm[k] += v * v;
      });
    }
  });
  for (int64_t t = 1; t < parts; ++t)
    for (int64_t c = 0; c < n; ++c) partial[0][c] += partial[t][c];
  return std::move(partial[0]);
}

}  // namespace

std::vector<double> icf_column_scaling(const Csr& x, TrainContext& ctx) {
  const int64_t n = x.cols;
  Csr xt = transpose(x);
  std::vector<double> sq(n, 0.0);
  if (gram_norms_are_exact(x)) {
    // Half the work of whole columns (the usual case: binary or count data).
    sq = gram_column_norms_symmetric(x, xt, ctx.threads());
  } else {
    parallel_chunks(n, 64, ctx.threads(), [&](int64_t b, int64_t e, int) {
      GramAccumulator g(n);
      for (int64_t c = b; c < e; ++c) {
        gram_column(x, xt, c, g);
        g.drain([&](int32_t, double v) { sq[c] += v * v; });
      }
    });
  }
  // 1/√‖col‖₂; empty columns keep 1 (the reference's post-fix behaviour).
  std::vector<double> s(n, 1.0);
  for (int64_t c = 0; c < n; ++c)
    if (sq[c] > 0) s[c] = 1.0 / std::sqrt(std::sqrt(sq[c]));
  return s;
}

Ldlt ldlt_icf(const Csr& x, double l2, int64_t target_nnz, Ordering ordering, const IcfOptions& icf,
              TrainContext& ctx, SansaStats* stats) {
  const int64_t n = x.cols;
  auto t0 = std::chrono::steady_clock::now();
  std::vector<int64_t> perm = order_items(x, ordering, ctx);
  if (stats) stats->seconds_ordering = seconds_since(t0);
  ctx.check_abort();
  t0 = std::chrono::steady_clock::now();
  ctx.report("factorize", 0);
  std::vector<double> scale = icf_column_scaling(x, ctx);
  std::vector<double> diag(n, 0.0);  // diag of the scaled Gramian
  const PermutedX xp = [&] {  // X by columns is needed only until the permuted copy exists
    const Csr xt = transpose(x);
    for (int64_t c = 0; c < n; ++c)
      for (int64_t p = xt.indptr[c]; p < xt.indptr[c + 1]; ++p) {
        const double v = double(xt.values[p]) * scale[c];
        diag[c] += v * v;
      }
    return PermutedX(xt, scale, perm);
  }();
  IcfFactor f;
  double shift = l2;
  int restarts = 0;
  while (!icf_attempt(xp, perm, diag, shift, target_nnz, f, ctx)) {
    if (restarts >= icf.max_restarts)
      fail(ErrorCode::Numeric, "SANSA ICF broke down " + std::to_string(restarts + 1) +
                                   " times (last diagonal shift " + std::to_string(shift) + "); increase l2 or icf.maxRestarts");
    shift = l2 + icf.shift_step * std::pow(icf.shift_multiplier, restarts);
    ++restarts;
  }
  if (stats) {
    stats->icf_restarts = restarts;
    stats->icf_shift = shift;
  }
  Ldlt out;
  out.n = n;
  out.perm = std::move(perm);
  out.d.resize(n);
  out.l.rows = n;
  out.l.cols = n;
  out.l.indptr.assign(f.col_ptr.begin(), f.col_ptr.end());
  out.l.indices = f.rows;
  out.l.values.resize(f.vals.size());
  for (int64_t j = 0; j < n; ++j) {
    const double ljj = f.vals[f.col_ptr[j]];
    out.d[j] = ljj * ljj;
    out.l.values[f.col_ptr[j]] = 1.0f;
    for (int64_t p = f.col_ptr[j] + 1; p < f.col_ptr[j + 1]; ++p) out.l.values[p] = static_cast<float>(f.vals[p] / ljj);
  }
  if (stats) {
    stats->seconds_factorize = seconds_since(t0);
    stats->nnz_l = out.l.nnz();
  }
  ctx.report("factorize", 1);
  return out;
}

}  // namespace cfkit
