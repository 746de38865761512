#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "ease/ease.hpp"
#include "harness.hpp"
#include "sansa/global_sparsifier.hpp"
#include "sansa/ldlt.hpp"
#include "sansa/sansa.hpp"
#include "sansa/sparsify.hpp"
#include "sansa/cholmod_util.hpp"
#include "sansa/supernodal_single.hpp"
#include "sansa/umr.hpp"
#include "model/recommend.hpp"
#include "util.hpp"

using namespace cfkit;

namespace {
// Dense n x n from columns (row c of `cols` = column c).
std::vector<double> dense_cols(const Csr& cols) {
  const int64_t n = cols.rows;
  std::vector<double> a(n * n, 0.0);
  for (int64_t c = 0; c < n; ++c)
    for (int64_t p = cols.indptr[c]; p < cols.indptr[c + 1]; ++p) a[cols.indices[p] * n + c] = cols.values[p];
  return a;
}
std::vector<double> gram(const Csr& x, const std::vector<double>* scale) {
  const int64_t n = x.cols;
  std::vector<double> g(n * n, 0.0);
  for (int64_t u = 0; u < x.rows; ++u)
    for (int64_t p = x.indptr[u]; p < x.indptr[u + 1]; ++p)
      for (int64_t q = x.indptr[u]; q < x.indptr[u + 1]; ++q) {
        double v = double(x.values[p]) * x.values[q];
        if (scale) v *= (*scale)[x.indices[p]] * (*scale)[x.indices[q]];
        g[x.indices[p] * n + x.indices[q]] += v;
      }
  return g;
}
// max |P(A + λI)Pᵀ − L D Lᵀ|
double ldlt_error(const Ldlt& f, const std::vector<double>& a, double l2) {
  const int64_t n = f.n;
  std::vector<double> l = dense_cols(f.l);
  double worst = 0;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double s = 0;
      for (int64_t k = 0; k < n; ++k) s += l[i * n + k] * f.d[k] * l[j * n + k];
      double ref = a[f.perm[i] * n + f.perm[j]] + (i == j ? l2 : 0.0);
      worst = std::max(worst, std::fabs(s - ref));
    }
  return worst;
}
}  // namespace

TEST(sparsify_keeps_diagonal_and_exact_count_with_ties) {
  Csr c;
  c.rows = c.cols = 3;
  c.indptr = {0, 3, 5, 6};
  c.indices = {0, 1, 2, 1, 2, 2};
  c.values = {0.001f, 0.5f, -0.5f, 1.f, 0.5f, 2.f};
  Csr a = c;
  sparsify_keep_diagonal(a, 5);  // 3 diagonals + 2 of the three 0.5-ties: the first two by column
  CHECK(a.nnz() == 5);
  CHECK(a.indices == std::vector<int32_t>({0, 1, 2, 1, 2}));
  Csr b = c;
  sparsify_keep_diagonal(b, 3);
  CHECK(b.nnz() == 3 && b.values[0] == 0.001f);  // a tiny diagonal survives
}

namespace {
// The entries (column, row) a naive global cut keeps: sort every off-diagonal entry by
// (|v|, column, row) and drop the first nnz − target.
std::vector<std::pair<int32_t, int32_t>> naive_keep(const Columns& m, int64_t target) {
  struct E {
    float mag;
    int32_t col, row;
  };
  std::vector<E> all;
  for (size_t j = 0; j < m.rows.size(); ++j)
    for (size_t t = 1; t < m.rows[j].size(); ++t) all.push_back({std::fabs(m.vals[j][t]), int32_t(j), m.rows[j][t]});
  std::sort(all.begin(), all.end(), [](const E& a, const E& b) {
    return a.mag != b.mag ? a.mag < b.mag : a.col != b.col ? a.col < b.col : a.row < b.row;
  });
  const int64_t drop = std::max<int64_t>(0, m.nnz - target);
  std::vector<std::pair<int32_t, int32_t>> keep;
  for (size_t t = drop; t < all.size(); ++t) keep.push_back({all[t].col, all[t].row});
  std::sort(keep.begin(), keep.end());
  return keep;
}
std::vector<std::pair<int32_t, int32_t>> kept(const Columns& m) {
  std::vector<std::pair<int32_t, int32_t>> keep;
  for (size_t j = 0; j < m.rows.size(); ++j)
    for (size_t t = 1; t < m.rows[j].size(); ++t) keep.push_back({int32_t(j), m.rows[j][t]});
  return keep;
}
// The off-diagonal entries a global cut to `target` entries keeps, as sorted (column, row) pairs,
// found naively with sparsify's tie rule: every entry of positive magnitude (zeros and NaN never
// count) sorted by (|v| descending, column, row), the first target − n kept.
std::vector<std::pair<int32_t, int32_t>> naive_global_cut(const Csr& cols, int64_t target) {
  struct E {
    float mag;
    int32_t col, row;
  };
  std::vector<E> all;
  for (int64_t j = 0; j < cols.rows; ++j)
    for (int64_t p = cols.indptr[j] + 1; p < cols.indptr[j + 1]; ++p)
      if (std::fabs(cols.values[p]) > 0.f) all.push_back({std::fabs(cols.values[p]), int32_t(j), cols.indices[p]});
  std::sort(all.begin(), all.end(), [](const E& a, const E& b) {
    return a.mag != b.mag ? a.mag > b.mag : a.col != b.col ? a.col < b.col : a.row < b.row;
  });
  std::vector<std::pair<int32_t, int32_t>> want;
  for (int64_t t = 0; t < std::min<int64_t>(target - cols.rows, int64_t(all.size())); ++t) want.push_back({all[t].col, all[t].row});
  std::sort(want.begin(), want.end());
  return want;
}

// A sparsified matrix's off-diagonal entries as sorted (column, row) pairs; each column's diagonal
// must come first.
std::vector<std::pair<int32_t, int32_t>> kept_pairs(const Csr& cut) {
  std::vector<std::pair<int32_t, int32_t>> got;
  for (int64_t j = 0; j + 1 < int64_t(cut.indptr.size()); ++j) {
    CHECK(cut.indices[cut.indptr[j]] == j);
    for (int64_t t = cut.indptr[j] + 1; t < cut.indptr[j + 1]; ++t) got.push_back({int32_t(j), cut.indices[t]});
  }
  return got;
}
}  // namespace

// The one-pass way (a sampled cut, then the entries above it) and the exact passes both give the
// naive global cut, with ties, including where the sample misjudges: large entries only in the
// columns it skips (it collects too many) or only in those it reads (too few: the exact passes run).
TEST(sparsify_from_a_sample_matches_a_naive_global_cut) {
  uint64_t state = 99;
  auto next = [&]() {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return uint32_t(state >> 33);
  };
  const int64_t n = 400;
  for (int layout = 0; layout < 3; ++layout) {
    Csr cols;
    cols.rows = cols.cols = n;
    cols.indptr.assign(1, 0);
    for (int64_t j = 0; j < n; ++j) {
      std::vector<int32_t> rows = {int32_t(j)};
      for (int64_t r = j + 1; r < n; ++r)
        if (next() % 2) rows.push_back(int32_t(r));
      // layout 0: magnitudes from a few values (many ties); 1: large ones off the sampled columns
      // (every 16th); 2: large ones on them only.
      const bool sampled = j % 16 == 0;
      const float scale = layout == 0 ? 1.f : (layout == 1) != sampled ? 100.f : 1.f;
      for (const int32_t r : rows) {
        cols.indices.push_back(r);
        cols.values.push_back((next() % 2 ? 1.f : -1.f) * scale * (layout == 0 ? float(1 + next() % 50) : float(1 + next() % 100000) * 1e-5f));
      }
      cols.indptr.push_back(static_cast<int64_t>(cols.indices.size()));
    }
    const int64_t target = n + 350;  // under 1 % of the about 40,000 entries
    Csr one_pass;
    const bool took = sparsify_detail::sparsify_from_sample(sparsify_detail::CsrColumns{cols}, n, target, 2, nullptr, one_pass);
    CHECK(took == (layout != 2));
    Csr cut = cols;
    sparsify_keep_diagonal(cut, target, 2);
    CHECK(cut.nnz() == target);
    if (took) CHECK(one_pass.indptr == cut.indptr && one_pass.indices == cut.indices && one_pass.values == cut.values);
    CHECK(kept_pairs(cut) == naive_global_cut(cols, target));
  }
}

// The one-pass scan tests entries in branch-free chunks: zeros and NaN are neither counted as
// nonzeros nor kept, and entries exactly at the cut's smallest value (here every large one: 2.0 has
// no low mantissa bits) are collected, so the one pass succeeds.
TEST(sparsify_from_a_sample_counts_and_collects_at_the_cut_exactly) {
  const int64_t n = 400;
  Csr cols;
  cols.rows = cols.cols = n;
  cols.indptr.assign(1, 0);
  int64_t nonzero = n, twos = 0;
  for (int64_t j = 0; j < n; ++j)
    for (int64_t r = j; r < n; ++r) {
      const int64_t k = j * n + r;
      float v = r == j ? 1.f : k % 7 == 0 ? 0.f : k % 101 == 0 ? NAN : k % 23 == 0 ? -2.f : 1e-3f * float(1 + k % 97);
      cols.indices.push_back(int32_t(r));
      cols.values.push_back(v);
      if (r != j) {
        nonzero += v != 0.f && v == v;
        twos += v == -2.f;
      }
      if (r + 1 == n) cols.indptr.push_back(static_cast<int64_t>(cols.indices.size()));
    }
  const int64_t target = n + 300;
  CHECK(twos > 2 * (target - n));
  Csr one_pass;
  int64_t counted = 0;
  CHECK(sparsify_detail::sparsify_from_sample(sparsify_detail::CsrColumns{cols}, n, target, 2, &counted, one_pass));
  CHECK(counted == nonzero);
  Csr cut = cols;
  sparsify_keep_diagonal(cut, target, 2);
  CHECK(one_pass.indptr == cut.indptr && one_pass.indices == cut.indices && one_pass.values == cut.values);
  CHECK(one_pass.nnz() == target);
  CHECK(kept_pairs(one_pass) == naive_global_cut(cols, target));
  for (int64_t j = 0; j + 1 < int64_t(one_pass.indptr.size()); ++j)
    for (int64_t t = one_pass.indptr[j] + 1; t < one_pass.indptr[j + 1]; ++t) CHECK(one_pass.values[t] == -2.f);
}

TEST(global_sparsifier_matches_a_naive_global_cut_through_many_replacements) {
  const int64_t n = 60;
  uint64_t state = 12345;
  auto next = [&]() {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return uint32_t(state >> 33);
  };
  // Magnitudes from a few values only, so ties at the cut are common.
  auto value = [&]() { return (next() % 2 ? 1.f : -1.f) * float(1 + next() % 7) * (next() % 3 ? 1e-3f : 1.f); };
  auto random_column = [&](int64_t j, std::vector<int32_t>& rows, std::vector<float>& vals) {
    rows = {int32_t(j)};
    vals = {1.f};
    for (int64_t i = j + 1; i < n; ++i)
      if (next() % 3 == 0) {
        rows.push_back(int32_t(i));
        vals.push_back(value());
      }
  };
  Columns m;
  m.rows.resize(n);
  m.vals.resize(n);
  for (int64_t j = 0; j < n; ++j) {
    random_column(j, m.rows[j], m.vals[j]);
    m.nnz += int64_t(m.rows[j].size());
  }
  const int64_t target = n + 300;
  TrainContext ctx(3, std::make_shared<std::atomic<bool>>(false), nullptr);
  GlobalSparsifier sp(m, target);
  auto expected = naive_keep(m, target);
  sp.enforce(ctx);
  CHECK(m.nnz == target);
  CHECK(kept(m) == expected);
  for (int round = 0; round < 40; ++round) {
    Columns before = m;
    std::vector<int64_t> cols;
    for (int64_t j = 0; j < n; ++j)
      if (next() % 5 == 0) cols.push_back(j);
    for (int64_t j : cols) {
      std::vector<int32_t> rows;
      std::vector<float> vals;
      random_column(j, rows, vals);
      before.nnz += int64_t(rows.size()) - int64_t(before.rows[j].size());
      before.rows[j] = rows;
      before.vals[j] = vals;
      sp.replace(j, std::move(rows), std::move(vals));
    }
    CHECK(m.nnz == before.nnz);
    expected = naive_keep(before, target);
    sp.enforce(ctx);
    CHECK(m.nnz == std::min(target, before.nnz));
    CHECK(kept(m) == expected);
    for (int64_t j = 0; j < n; ++j) CHECK(m.rows[j][0] == j && m.vals[j][0] == 1.f);
  }
}

// CHOLMOD-factorizer options; `dense` forces the dense numeric path on (true) or off (false).
static SansaOptions exact_factor(double l2, Ordering ordering, bool dense) {
  SansaOptions o;
  o.l2 = l2;
  o.ordering = ordering;
  o.dense_factor_min_fill = dense ? 0.0 : 2.0;
  return o;
}

TEST(cholmod_ldlt_reconstructs_the_regularised_gram) {
  Csr x = cfkit_test::random_binary(120, 25, 6, 31);
  TrainContext ctx(2, nullptr, nullptr);
  for (Ordering o : {Ordering::Colamd, Ordering::Amd, Ordering::Natural})
    for (bool dense : {false, true}) {
      SansaStats st;
      Ldlt f = ldlt_cholmod(x, exact_factor(3.0, o, dense), 25 * 25, ctx, &st);
      CHECK(st.dense_factor == dense);
      CHECK(ldlt_error(f, gram(x, nullptr), 3.0) < 1e-4);
    }
}

TEST(sparsification_ranks_entries_by_the_cholesky_factor) {
  // The reference sparsifies L of LLᵀ before scaling it to unit diagonal, so L_ij competes as
  // |L_ij|·√d_j. Check the kept pattern against a dense Cholesky of the permuted Gram in double.
  Csr x = cfkit_test::random_binary(200, 40, 8, 36);
  const int64_t n = 40, target = 40 * 40 / 8;
  TrainContext ctx(1, nullptr, nullptr);
  for (bool dense : {false, true}) {
    Ldlt f = ldlt_cholmod(x, exact_factor(2.0, Ordering::Colamd, dense), target, ctx, nullptr);
    const std::vector<double> g = gram(x, nullptr);
    std::vector<double> c(n * n, 0.0);  // row-major lower Cholesky factor of P(G + 2I)Pᵀ
    for (int64_t j = 0; j < n; ++j)
      for (int64_t i = j; i < n; ++i) {
        double s = g[f.perm[i] * n + f.perm[j]] + (i == j ? 2.0 : 0.0);
        for (int64_t k = 0; k < j; ++k) s -= c[i * n + k] * c[j * n + k];
        c[i * n + j] = i == j ? std::sqrt(s) : s / c[j * n + j];
      }
    std::vector<std::pair<double, std::pair<int32_t, int32_t>>> off;
    for (int64_t j = 0; j < n; ++j)
      for (int64_t i = j + 1; i < n; ++i) off.push_back({-std::fabs(c[i * n + j]), {int32_t(j), int32_t(i)}});
    std::sort(off.begin(), off.end());
    std::vector<std::pair<int32_t, int32_t>> expected;
    for (int64_t t = 0; t < target - n; ++t) expected.push_back(off[t].second);
    std::sort(expected.begin(), expected.end());
    std::vector<std::pair<int32_t, int32_t>> got;
    for (int64_t j = 0; j < n; ++j)
      for (int64_t p = f.l.indptr[j] + 1; p < f.l.indptr[j + 1]; ++p) got.push_back({int32_t(j), f.l.indices[p]});
    CHECK(got == expected);
  }
}

TEST(dense_and_supernodal_factors_agree) {
  // 300 users x 90 items with 15 items each: the factor fills in, and CHOLMOD's own supernodes
  // are relaxed (explicit zeros) that the dense path never stores.
  Csr x = cfkit_test::random_binary(300, 90, 15, 35);
  TrainContext ctx(2, nullptr, nullptr);
  // Kept in full, the dense factor is double; sparsified to 5%, it is float32.
  for (int64_t target : {int64_t(90 * 90), int64_t(90 * 90 / 20)}) {
    const double tol = target == 90 * 90 ? 1e-9 : 1e-5;
    SansaStats ss, ds;
    Ldlt s = ldlt_cholmod(x, exact_factor(4.0, Ordering::Colamd, false), target, ctx, &ss);
    Ldlt d = ldlt_cholmod(x, exact_factor(4.0, Ordering::Colamd, true), target, ctx, &ds);
    CHECK(s.perm == d.perm);
    CHECK(s.l.indptr == d.l.indptr);
    CHECK(s.l.indices == d.l.indices);
    double worst = 0;
    for (size_t p = 0; p < s.l.values.size(); ++p) worst = std::max(worst, double(std::fabs(s.l.values[p] - d.l.values[p])));
    CHECK(worst < 10 * tol);
    for (int64_t j = 0; j < 90; ++j) CHECK(std::fabs(s.d[j] - d.d[j]) <= tol * s.d[j]);
    CHECK(ds.nnz_factor_full <= ss.nnz_factor_full);
  }
  // The automatic rule picks the dense path for this fill-heavy Gram.
  SansaStats st;
  SansaOptions o;
  o.l2 = 4.0;
  ldlt_cholmod(x, o, 90 * 90 / 20, ctx, &st);
  CHECK(st.dense_factor);
}

namespace {
// CHOLMOD's supernodal analysis of Xᵀ (no values yet), as ldlt_cholmod makes it.
struct SupernodalAnalysis {
  XtView xt;
  CholmodCommon common{Ordering::Colamd, true};
  cholmod_factor* f = nullptr;
  explicit SupernodalAnalysis(const Csr& x) : xt(x) { f = cholmod_l_analyze(&xt.sparse, common.get()); }
  ~SupernodalAnalysis() { cholmod_l_free_factor(&f, common.get()); }
  // CHOLMOD's own double factor in the same layout; false when it is not positive definite.
  bool factor_double(double l2) {
    double beta[2] = {l2, 0};
    cholmod_l_factorize_p(&xt.sparse, beta, nullptr, 0, f, common.get());
    return common.get()->status == CHOLMOD_OK && static_cast<int64_t>(f->minor) == static_cast<int64_t>(f->n);
  }
};
}  // namespace

TEST(single_precision_supernodal_factor_matches_cholmod_in_double) {
  // 900 users x 300 uniform random items, 14 each, fill the factor's tail into one dense supernode
  // that every update reaches in place. 6000 users x 2000 items in 20 communities keep many
  // supernodes whose rows land on scattered rows of their ancestors: small products here, products
  // by the BLAS into a buffer, and scatters split across threads. Binary, count (1-3) and
  // fractional data.
  for (int kind = 0; kind < 4; ++kind) {
    Csr x = kind == 0 ? cfkit_test::random_binary(900, 300, 14, 41) : cfkit_test::clustered_binary(6000, 2000, 20, 8, 41 + kind);
    for (size_t p = 0; p < x.values.size(); ++p)
      x.values[p] = kind <= 1 ? 1.f : kind == 2 ? float(1 + p % 3) : 0.25f + 0.5f * float(p % 5) / 3.f;
    const double l2 = 20.0;
    SupernodalAnalysis a(x);
    CHECK(a.f && a.f->is_super);
    TrainContext one(1, nullptr, nullptr), three(3, nullptr, nullptr);
    SingleFactor lx = supernodal_factor_single(*a.f, x, l2, three);
    SingleFactor lx1 = supernodal_factor_single(*a.f, x, l2, one);
    // Gathering panels of 8 columns cuts most batches of narrow descendants into several.
    SingleFactor cut = supernodal_factor_single(*a.f, x, l2, three, nullptr, 8);
    CHECK(lx != nullptr && lx1 != nullptr && cut != nullptr);
    CHECK(a.factor_double(l2));
    const auto* super = static_cast<const SuiteSparse_long*>(a.f->super);
    const auto* pi = static_cast<const SuiteSparse_long*>(a.f->pi);
    const auto* px = static_cast<const SuiteSparse_long*>(a.f->px);
    const auto* ref = static_cast<const double*>(a.f->x);
    double worst = 0;
    bool same_bits = true;
    int64_t wide = 0;
    for (size_t s = 0; s < a.f->nsuper; ++s) {
      const int64_t nscol = super[s + 1] - super[s], nsrow = pi[s + 1] - pi[s];
      wide = std::max(wide, nscol);
      for (int64_t c = 0; c < nscol; ++c)
        for (int64_t r = c; r < nsrow; ++r) {  // the lower part of each column
          const int64_t k = px[s] + c * nsrow + r;
          const double diag = ref[px[s] + c * nsrow + c];
          worst = std::max({worst, std::fabs(double(lx[k]) - ref[k]) / diag, std::fabs(double(cut[k]) - ref[k]) / diag});
          same_bits = same_bits && lx[k] == lx1[k];
        }
    }
    CHECK(wide >= 64);     // the tail is one wide supernode
    CHECK(worst < 2e-5);   // relative to each column's pivot
    CHECK(same_bits);      // and independent of the thread count
  }
  // It reports progress through "factorize" and stops when asked to.
  Csr x = cfkit_test::random_binary(900, 300, 14, 41);
  SupernodalAnalysis a(x);
  std::vector<double> fractions;
  TrainContext watched(2, nullptr, [&](const Progress& p) {
    if (p.stage == "factorize") fractions.push_back(p.fraction);
  });
  CHECK(supernodal_factor_single(*a.f, x, 20.0, watched) != nullptr);
  CHECK(!fractions.empty() && fractions.back() == 1.0);
  CHECK(std::is_sorted(fractions.begin(), fractions.end()));
  TrainContext aborted(2, nullptr, nullptr);
  aborted.request_abort();
  bool was_aborted = false;
  try {
    supernodal_factor_single(*a.f, x, 20.0, aborted);
  } catch (const Error& e) {
    was_aborted = e.code() == ErrorCode::Aborted;
  }
  CHECK(was_aborted);
}

TEST(single_precision_factor_taken_from_a_prefaulted_span_is_the_same_and_leaves_upper_triangles_alone) {
  // 2,400 random items fill the factor's tail into one supernode wide enough (2,048 columns or
  // more) to keep its upper triangle untouched. Whether the span populated all of the factor's
  // neighbourhood, only 6 MiB of it, or is too small to hold it, the factor is the same, and the
  // upper triangle's whole pages are not resident.
  Csr x = cfkit_test::random_binary(4000, 2400, 30, 43);
  SupernodalAnalysis a(x);
  const auto* super = static_cast<const SuiteSparse_long*>(a.f->super);
  const auto* pi = static_cast<const SuiteSparse_long*>(a.f->pi);
  const auto* px = static_cast<const SuiteSparse_long*>(a.f->px);
  const int64_t last = static_cast<int64_t>(a.f->nsuper) - 1, width = super[last + 1] - super[last];
  const int64_t nsrow = pi[last + 1] - pi[last];
  CHECK(width >= 2048);
  TrainContext two(2, nullptr, nullptr);
  SingleFactor own = supernodal_factor_single(*a.f, x, 20.0, two);
  CHECK(own != nullptr);
  const size_t square = size_t(x.cols) * size_t(x.cols) * sizeof(float);
  for (size_t cap : {size_t(1) << 30, size_t(6) << 20, size_t(0)}) {
    PrefaultedSpan span(cap ? square : 4096, cap ? square : 4096, cap);
    cfkit_test::wait_for_population(span, std::min(cap, 2 * square));
    SingleFactor lx = supernodal_factor_single(*a.f, x, 20.0, two, &span);
    CHECK(lx != nullptr && own != nullptr);
    if (!lx || !own) return;
    int64_t upper = 0;
    for (int64_t k = 1; k < width; ++k) {
      // The whole pages inside column k's rows above its diagonal.
      const float* column = lx.get() + px[last] + k * nsrow;
      const PageRange r = PageRange::inside(column, column + k);
      if (!r.empty()) upper += cfkit_test::resident_pages(r.start(), reinterpret_cast<void*>(r.e));
    }
    CHECK(upper == 0);
    // Compared only now: reading a page of zeros maps it.
    CHECK(std::memcmp(lx.get(), own.get(), a.f->xsize * sizeof(float)) == 0);
  }
}

TEST(single_precision_factor_reports_a_float32_breakdown_and_ldlt_falls_back) {
  // Two items that 16 users share; one user's second value is 1 + 2⁻¹³. In double the second pivot
  // is about 1.5e-8 (2⁻²⁶ − 2⁻³⁰ + λ); rounded to float32 it is exactly zero.
  Csr x;
  x.rows = 16;
  x.cols = 2;
  for (int64_t u = 0; u < 16; ++u) {
    x.indptr.push_back(int64_t(x.indices.size()));
    x.indices.insert(x.indices.end(), {0, 1});
    x.values.insert(x.values.end(), {1.f, u == 0 ? 1.f + 1.f / 8192 : 1.f});
  }
  x.indptr.push_back(int64_t(x.indices.size()));
  const double l2 = 1e-9;
  SupernodalAnalysis a(x);
  TrainContext ctx(2, nullptr, nullptr);
  CHECK(supernodal_factor_single(*a.f, x, l2, ctx) == nullptr);
  CHECK(a.factor_double(l2));
  // The condition guard alone keeps such a λ in double.
  Csr y = cfkit_test::random_binary(300, 90, 15, 35);
  SansaOptions o;
  o.dense_factor_min_fill = 2.0;
  o.l2 = 4.0;
  SansaStats st;
  ldlt_cholmod(y, o, 90 * 90 / 20, ctx, &st);
  CHECK(st.single_factor && !st.dense_factor);
  o.l2 = 1e-3;
  Ldlt f = ldlt_cholmod(y, o, 90 * 90, ctx, &st);  // kept in full: double
  CHECK(!st.single_factor);
  ldlt_cholmod(y, o, 90 * 90 / 20, ctx, &st);      // sparsified, but λ too small for float32
  CHECK(!st.single_factor);
  CHECK(ldlt_error(f, gram(y, nullptr), 1e-3) < 1e-6);
}

TEST(icf_without_drops_is_the_exact_factor_of_the_scaled_gram) {
  Csr x = cfkit_test::random_binary(120, 25, 6, 32);
  TrainContext ctx(1, nullptr, nullptr);
  Ldlt f = ldlt_icf(x, 0.5, 25 * 25, Ordering::Colamd, IcfOptions{}, ctx, nullptr);
  std::vector<double> s = icf_column_scaling(x, ctx);
  CHECK(ldlt_error(f, gram(x, &s), 0.5) < 1e-4);
}

TEST(icf_column_scaling_is_one_over_the_root_of_each_gram_column_norm) {
  // Binary and count data take the half-triangle path, fractional values the whole-column one;
  // both must give 1/√‖G_c‖₂ and the same bits on any thread count.
  for (int kind = 0; kind < 3; ++kind) {
    Csr x = cfkit_test::random_binary(200, 40, 9, 40 + kind);
    for (size_t q = 0; q < x.values.size(); ++q) x.values[q] = kind == 0 ? 1.f : kind == 1 ? float(1 + q % 5) : 0.25f + float(q % 7) / 3.f;
    const int64_t n = x.cols;
    std::vector<double> g = gram(x, nullptr);
    TrainContext one(1, nullptr, nullptr), three(3, nullptr, nullptr);
    std::vector<double> s1 = icf_column_scaling(x, one), s3 = icf_column_scaling(x, three);
    CHECK(s1 == s3);
    for (int64_t c = 0; c < n; ++c) {
      double sq = 0;
      for (int64_t k = 0; k < n; ++k) sq += g[k * n + c] * g[k * n + c];
      const double want = sq > 0 ? 1.0 / std::sqrt(std::sqrt(sq)) : 1.0;
      CHECK(std::fabs(s1[c] - want) <= 1e-14 * want);
    }
  }
}

// The reference's ICF, written densely and directly: column j is the scaled Gram column minus the
// kept L entries of earlier columns; it keeps floor((budget − stored) / (n − j)) entries of largest
// magnitude (ties to the lower row), and every computed entry lowers the later pivots.
static std::vector<double> dense_icf(const std::vector<double>& a, int64_t n, const std::vector<int64_t>& perm, double shift,
                                     int64_t budget) {
  std::vector<double> l(n * n, 0.0), d(n);
  for (int64_t j = 0; j < n; ++j) d[j] = a[perm[j] * n + perm[j]] + shift;
  int64_t stored = 0;
  for (int64_t j = 0; j < n; ++j) {
    std::vector<std::pair<double, int64_t>> col;
    for (int64_t i = j + 1; i < n; ++i) {
      double v = a[perm[i] * n + perm[j]];
      for (int64_t k = 0; k < j; ++k) v -= l[i * n + k] * l[j * n + k];
      if (v != 0.0) col.emplace_back(v, i);
    }
    const double ljj = std::sqrt(d[j]);
    l[j * n + j] = ljj;
    ++stored;
    std::stable_sort(col.begin(), col.end(), [](const auto& p, const auto& q) { return std::fabs(p.first) > std::fabs(q.first); });
    const int64_t share = std::max<int64_t>(0, (budget - (stored - 1)) / (n - j));
    for (size_t t = 0; t < col.size(); ++t) {
      const double lij = col[t].first / ljj;
      d[col[t].second] -= lij * lij;
      if (int64_t(t) < share) {
        l[col[t].second * n + j] = lij;
        ++stored;
      }
    }
  }
  return l;
}

TEST(icf_matches_the_reference_algorithm_and_ordering) {
  // 300 users x 60 items, about 10% of L kept: most columns drop entries, and the budget's shares
  // shrink as it is used up.
  Csr x = cfkit_test::random_binary(300, 60, 10, 36);
  const int64_t n = 60, budget = 360;
  TrainContext ctx(2, nullptr, nullptr);
  SansaStats st;
  Ldlt f = ldlt_icf(x, 1.0, budget, Ordering::Colamd, IcfOptions{}, ctx, &st);
  CHECK(st.icf_restarts == 0);
  // P is CHOLMOD's (postordered) analysis ordering, the one the exact factor uses too.
  Ldlt exact = ldlt_cholmod(x, exact_factor(1.0, Ordering::Colamd, false), n * n, ctx, nullptr);
  CHECK(f.perm == exact.perm);
  std::vector<double> s = icf_column_scaling(x, ctx);
  std::vector<double> ref = dense_icf(gram(x, &s), n, f.perm, 1.0, budget);
  std::vector<double> got = dense_cols(f.l);
  int64_t ref_nnz = 0;
  double worst = 0;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < i; ++j) {
      const double r = ref[i * n + j] / ref[j * n + j];  // unit-lower, as ldlt_icf returns it
      ref_nnz += r != 0.0;
      CHECK((r != 0.0) == (got[i * n + j] != 0.0));
      worst = std::max(worst, std::fabs(r - got[i * n + j]));
    }
  CHECK(ref_nnz + n == f.l.nnz());
  CHECK(ref_nnz > budget / 2 && ref_nnz + n <= budget + n);
  CHECK(worst < 1e-6);
  for (int64_t j = 0; j < n; ++j) CHECK(std::fabs(f.d[j] - ref[j * n + j] * ref[j * n + j]) < 1e-9 * f.d[j]);
}

TEST(icf_respects_its_budget_and_restarts_after_breakdown) {
  // Item 4 has no interactions, so with λ = 0 its pivot is exactly 0: a breakdown that only a
  // diagonal shift cures.
  Csr x;
  x.rows = 6;
  x.cols = 5;
  x.indices = {0, 1, 0, 1, 0, 1, 2, 3, 2, 3};
  x.indptr = {0, 2, 4, 6, 7, 8, 10};
  x.values.assign(10, 1.f);
  x.validate("x");
  TrainContext ctx(1, nullptr, nullptr);
  SansaStats st;
  Ldlt f = ldlt_icf(x, 0.0, 25, Ordering::Natural, IcfOptions{}, ctx, &st);
  CHECK(st.icf_restarts >= 1);
  CHECK(st.icf_shift > 0);
  for (double d : f.d) CHECK(d > 0);
  Csr y = cfkit_test::random_binary(300, 60, 10, 33);
  Ldlt g = ldlt_icf(y, 1.0, 200, Ordering::Colamd, IcfOptions{}, ctx, &st);
  CHECK(g.l.nnz() <= 200);
  CHECK(g.l.nnz() >= 190);
}

TEST(umr_loss_falls_and_exact_inverse_is_exact) {
  Csr x = cfkit_test::random_binary(400, 80, 12, 34);
  TrainContext ctx(2, nullptr, nullptr);
  Ldlt f = ldlt_cholmod(x, exact_factor(5.0, Ordering::Colamd, false), 80 * 80 / 10, ctx, nullptr);
  std::vector<double> losses;
  UmrOptions o;
  o.scans = 4;
  o.finetune = 3;
  umr_inverse(f.l, 80 * 80 / 10, o, ctx, &losses);
  CHECK(losses.size() == 8);
  for (size_t s = 1; s <= 4; ++s) CHECK(losses[s] <= losses[s - 1] * (1 + 1e-9));
  CHECK(losses[4] < losses[0]);
  Ldlt full = ldlt_cholmod(x, exact_factor(5.0, Ordering::Colamd, false), 80 * 80, ctx, nullptr);
  Csr m = exact_inverse(full.l, 80 * 80, ctx);
  CHECK(inverse_loss(full.l, m, ctx) < 1e-10);
}

TEST(sansa_at_full_density_equals_ease_on_non_input_items) {
  Csr x = cfkit_test::random_binary(300, 50, 8, 35);
  TrainContext ctx(2, nullptr, nullptr);
  EaseOptions eo;
  eo.l2 = 20;
  eo.float64 = true;
  EaseModel ease = fit_ease(x, eo, ctx);
  for (Factorizer fz : {Factorizer::Cholmod}) {
    SansaOptions so;
    so.l2 = 20;
    so.density = 1.0;
    so.factorizer = fz;
    so.inverter = Inverter::Exact;
    SansaModel sansa = fit_sansa(x, so, ctx, nullptr);
    std::vector<float> a(10 * 50), b(10 * 50);
    ease.score(x, nullptr, 0, 10, a.data());
    sansa.score(x, nullptr, 0, 10, b.data());
    double worst = 0;
    for (int64_t r = 0; r < 10; ++r) {
      std::vector<char> input(50, 0);
      for (int64_t p = x.indptr[r]; p < x.indptr[r + 1]; ++p) input[x.indices[p]] = 1;
      for (int64_t c = 0; c < 50; ++c)
        if (!input[c]) worst = std::max(worst, double(std::fabs(a[r * 50 + c] - b[r * 50 + c])));
    }
    CHECK(worst < 1e-4);
  }
}

TEST(sansa_does_not_depend_on_thread_count) {
  Csr x = cfkit_test::random_binary(500, 120, 10, 36);
  for (Factorizer fz : {Factorizer::Cholmod, Factorizer::Icf}) {
    SansaOptions so;
    so.l2 = fz == Factorizer::Icf ? 0.5 : 10;
    so.density = 0.05;
    so.factorizer = fz;
    so.umr.scans = 2;
    so.umr.finetune = 2;
    TrainContext c1(1, nullptr, nullptr), c3(3, nullptr, nullptr);
    SansaModel a = fit_sansa(x, so, c1, nullptr), b = fit_sansa(x, so, c3, nullptr);
    CHECK(a.encoder().indices == b.encoder().indices);
    CHECK(a.encoder().values == b.encoder().values);
    CHECK(a.decoder().values == b.decoder().values);
  }
}

namespace {
// A SANSA model with random signed weights whose encoder and decoder rows hold `per_row` entries.
SansaModel random_sansa(int64_t n, int per_row, unsigned seed) {
  Csr enc = cfkit_test::random_binary(n, n, per_row, seed), dec = cfkit_test::random_binary(n, n, per_row, seed + 1);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  for (float& v : enc.values) v = u(rng);
  for (float& v : dec.values) v = u(rng);
  return SansaModel(std::move(enc), std::move(dec));
}

// The reference top k of one dense score row: sort every eligible item by score, then id.
std::vector<int32_t> naive_topk(const float* s, int64_t n, int k, const std::vector<char>& masked, const ItemBitset* allowed,
                                const ItemBitset* blocked, float min_score) {
  std::vector<int32_t> c;
  for (int32_t i = 0; i < n; ++i)
    if (!masked[i] && std::isfinite(s[i]) && s[i] >= min_score && (!allowed || allowed->test(i)) && !(blocked && blocked->test(i)))
      c.push_back(i);
  std::sort(c.begin(), c.end(), [&](int32_t a, int32_t b) { return s[a] > s[b] || (s[a] == s[b] && a < b); });
  c.resize(std::min<size_t>(c.size(), size_t(k)));
  c.resize(size_t(k), -1);
  return c;
}
}  // namespace

// Rows that reach few items are ranked from their listing (the unlisted items scoring 0); rows that
// reach many, densely. Both must rank exactly as a dense score row does, under every filter.
TEST(sansa_recommend_ranks_listed_and_dense_rows_as_a_dense_score_row) {
  const int64_t n = 300;
  for (int per_row : {2, 60}) {  // 2: every row is listed; 60: most rows are scored densely
    SansaModel model = random_sansa(n, per_row, 40 + per_row);
    Csr x = cfkit_test::random_binary(40, n, 4, 41);
    Csr exclude = cfkit_test::random_binary(40, n, 3, 42);
    ItemBitset allowed(n), blocked(n);
    for (int64_t i = 0; i < n; ++i) {
      if (i % 3 != 0) allowed.set(i);
      if (i % 7 == 0) blocked.set(i);
    }
    std::vector<float> dense(size_t(x.rows * n));
    model.score(x, nullptr, 0, x.rows, dense.data());
    TrainContext ctx(2, nullptr, nullptr);
    for (int k : {5, 40})
      for (float min_score : {-std::numeric_limits<float>::infinity(), 0.f, 0.05f})
        for (int variant = 0; variant < 3; ++variant) {
          RecommendFilters f;
          f.min_score = min_score;
          if (variant >= 1) f.exclude = &exclude;
          if (variant == 2) {
            f.include_all = &allowed;
            f.exclude_all = &blocked;
          }
          const TopK got = recommend(model, x, k, true, f, ctx);
          for (int64_t r = 0; r < x.rows; ++r) {
            std::vector<char> masked(n, 0);
            for (int64_t p = x.indptr[r]; p < x.indptr[r + 1]; ++p) masked[x.indices[p]] = 1;
            if (f.exclude)
              for (int64_t p = exclude.indptr[r]; p < exclude.indptr[r + 1]; ++p) masked[exclude.indices[p]] = 1;
            const auto want = naive_topk(&dense[r * n], n, k, masked, f.include_all, f.exclude_all, min_score);
            CHECK(std::equal(want.begin(), want.end(), got.ids.begin() + r * k));
          }
        }
    // Similar items: the item's own scores, itself masked.
    std::vector<int32_t> items = {0, 17, 299};
    const TopK sim = similar_items(model, items, 10, {}, ctx);
    for (size_t r = 0; r < items.size(); ++r) {
      std::vector<float> row(n);
      model.item_similarity(items[r], row.data());
      std::vector<char> masked(n, 0);
      masked[items[r]] = 1;
      const auto want = naive_topk(row.data(), n, 10, masked, nullptr, nullptr, -std::numeric_limits<float>::infinity());
      CHECK(std::equal(want.begin(), want.end(), sim.ids.begin() + r * 10));
    }
  }
}
