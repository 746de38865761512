#include "sansa/supernodal_single.hpp"

#include <algorithm>
#include <vector>

#include "common/error.hpp"
#include "common/parallel.hpp"
#include "dense/lapack.hpp"
#include "dense/trapezoid_cholesky.hpp"
#include "sansa/permuted_gram.hpp"

namespace cfkit {

namespace {

using Idx = SuiteSparse_long;
// Target columns per product: the product buffer holds max_rows x kPanel floats (Gowalla: 26,145 x
// 2,048, 214 MB). Each BLAS call packs the descendant's rows once for all its columns, so wider
// panels pack less: with 2,048 rather than 512, Gowalla's fit was 0.6-2.1 s faster in 3 of 3
// interleaved pairs, for 120-160 MiB more peak RSS; 4,096 was no faster and took 140 MiB more.
constexpr Idx kPanel = 2048;
// Multiply-adds below which a product is computed here rather than by the BLAS.
constexpr Idx kBlasWork = 32768;

// C (ndrow2 x ndrow1, leading dimension ndrow2) += A2·A1ᵀ, lower part of the top square only, where
// A1 is the first ndrow1 rows of A2 (ndrow2 x ndcol, leading dimension lda). C is zero on entry (see
// subtract_scattered): accumulating into it, rather than asking the BLAS to overwrite it (β = 0),
// spares OpenBLAS a pass that clears C first, which a profile of Gowalla's fit put at about 2 CPU
// seconds (3.8 G entries). Small products stay out of the BLAS, whose per-call cost exceeds theirs
// (most descendant updates are a few columns wide).
void descendant_product(const float* a, int64_t lda, int64_t ndrow1, int64_t ndrow2, int64_t ndcol, float* c, int threads) {
  if (ndrow1 * ndrow2 * ndcol >= kBlasWork) {
    lapack::syrk_lower(ndrow1, ndcol, 1.f, a, lda, 1.f, c, ndrow2, threads);
    lapack::gemm_nt(ndrow2 - ndrow1, ndrow1, ndcol, 1.f, a + ndrow1, lda, a, lda, 1.f, c + ndrow1, ndrow2, threads);
    return;
  }
  for (int64_t j = 0; j < ndrow1; ++j) {
    float* cj = c + j * ndrow2;
    for (int64_t t = 0; t < ndcol; ++t) {
      const float* at = a + t * lda;
      const float ajt = at[j];
      for (int64_t i = j; i < ndrow2; ++i) cj[i] += at[i] * ajt;
    }
  }
}

// Entries below which a scatter stays on one thread (starting threads costs tens of microseconds).
constexpr Idx kParallelScatter = 65536;

// block[r[i], r[j]] −= c[i, j] for j < w and j ≤ i < m, where c is m x w (leading dimension m) and
// block has leading dimension nsrow. Each c[i, j] read is set back to zero; that is all that
// descendant_product wrote, so c is zero again for the next product. The scatter's loads miss cache
// (Gowalla: 3.8 G entries, about 1.4 ns each on one thread), so it is split across threads by
// columns, balanced by entries; each entry is written by one thread with the same operation, so the
// bits do not depend on threads.
void subtract_scattered(float* c, int64_t w, int64_t m, const int32_t* r, float* block, int64_t nsrow, int threads) {
  auto columns = [&](int64_t j1, int64_t j2) {
    for (int64_t j = j1; j < j2; ++j) {
      float* dst = block + int64_t(r[j]) * nsrow;
      float* src = c + j * m;
      for (int64_t i = j; i < m; ++i) {
        dst[r[i]] -= src[i];
        src[i] = 0.f;
      }
    }
  };
  if (threads <= 1 || w < 2) return columns(0, w);
  threads = static_cast<int>(std::min<int64_t>(threads, w));
  // Column j holds m − j entries; cut[t] is the first column of thread t.
  std::vector<int64_t> cut(threads + 1, w);
  cut[0] = 0;
  const double total = double(w) * double(m) - double(w) * double(w - 1) / 2;
  double before = 0;
  for (int64_t j = 0, t = 1; j < w && t < threads; ++j) {
    before += double(m - j);
    while (t < threads && before >= total * double(t) / threads) cut[t++] = j + 1;
  }
  run_threads(threads, [&](int tid) { columns(cut[tid], cut[tid + 1]); });
}

// block −= A·A1ᵀ where A (ndrow2 x ndcol, leading dimension lda) holds a descendant's rows from the
// target's first column on, A1 its first ndrow1 rows (those among the target's columns), and rel[t]
// the target row of A's row t. c is the zeroed product buffer (ndrow2 x kPanel at least).
void update_target(const float* a, int64_t lda, const int32_t* rel, int64_t ndrow1, int64_t ndrow2, int64_t ndcol,
                   float* block, int64_t nsrow, float* c, int threads) {
  // A panel of kPanel target columns at a time bounds the product buffer (CHOLMOD's whole-update
  // buffer is 417 M entries on Gowalla).
  for (int64_t j0 = 0; j0 < ndrow1; j0 += kPanel) {
    const int64_t w = std::min<int64_t>(kPanel, ndrow1 - j0), m = ndrow2 - j0;
    if (rel[ndrow2 - 1] - rel[j0] == m - 1 && w * m * ndcol >= kBlasWork) {
      // The panel's rows land on consecutive rows of the target (so do its columns, which are its
      // first rows): the BLAS subtracts the product in place.
      float* target = block + int64_t(rel[j0]) * nsrow + rel[j0];
      lapack::syrk_lower(w, ndcol, -1.f, a + j0, lda, 1.f, target, nsrow, threads);
      lapack::gemm_nt(m - w, w, ndcol, -1.f, a + j0 + w, lda, a + j0, lda, 1.f, target + w, nsrow, threads);
      continue;
    }
    descendant_product(a + j0, lda, w, m, ndcol, c, threads);
    subtract_scattered(c, w, m, rel + j0, block, nsrow, w * m >= kParallelScatter ? threads : 1);
  }
}

// One scattered entry of a product costs about as much as this many columns of BLAS work on it:
// Gowalla's scatter ran at 0.75-1.2 ns per entry on 2 threads, the BLAS at ~210 GFLOP/s. Values from
// 40 to 320 fitted Gowalla equally fast within this machine's noise (one run each); 20 was slower
// in its one run.
constexpr double kScatterColumns = 80;

// The supernodes' row lists, and each supernode's progress through them as a descendant.
struct SupernodeRows {
  const Idx* super;
  const Idx* pi;
  const Idx* px;
  const Idx* ls;
  const std::vector<Idx>& pos;
  Idx columns(Idx d) const { return super[d + 1] - super[d]; }
  Idx first_left(Idx d) const { return pi[d] + pos[d]; }
  Idx rows_left(Idx d) const { return pi[d + 1] - first_left(d); }
  const float* values_left(const float* lx, Idx d) const { return lx + px[d] + pos[d]; }
};

// Work space of apply_updates, reused across targets.
struct UpdateScratch {
  std::vector<Idx> batch, in_target;  // by supernode; batch is -1 outside a call
  std::vector<int32_t> rel, slot;     // slot: by target row, -1 outside a gather
  std::vector<int32_t> place;         // a gathered member's rows in the panel
  ZeroedArray<float> panel;
  int64_t capacity;
  UpdateScratch(int64_t nsuper, int64_t max_rows, int64_t capacity_)
      : batch(nsuper, -1), in_target(nsuper, 0), slot(max_rows, -1), panel(map_zeroed<float>(capacity_)), capacity(capacity_) {}
};

// Entries of a descendant's product: its r1 rows in the target times its r2 rows from there on,
// less the upper triangle of the square.
double product_entries(double r1, double r2) { return r1 * r2 - r1 * (r1 - 1) / 2; }

// Applies to supernode s (columns k1..k2−1; map[row] = the row's place in its row list) the updates
// of the supernodes in `ds`, each of which has rows among its columns. Most descendants are a few
// columns wide, and their scatter costs more than their product (Gowalla: of 3.8 G scattered
// entries, 1.66 G came from descendants of 8-31 columns, whose scatter took 1.6 s and their
// products 0.6 s). A supernode's rows from s on are a subset of its
// parent's (L's structure only grows up the elimination tree), so a narrow one can join an
// ancestor's columns in one panel gathered on the ancestor's rows: a wider product and one
// scatter, at the cost of the product's zero rows. It joins its parent's batch when that costs
// less, counting a scattered entry as kScatterColumns columns of product; a batch is cut where
// its panel would outgrow the scratch. The plan does not depend on the thread count.
void apply_updates(const SupernodeRows& sn, const std::vector<int32_t>& super_of, const std::vector<int32_t>& map,
                   std::vector<Idx>& ds, Idx s, const float* lx, float* block, int64_t nsrow, float* c,
                   UpdateScratch& w, int threads) {
  const Idx k2 = sn.super[s + 1];
  std::sort(ds.begin(), ds.end(), std::greater<Idx>());  // a parent's index is above its children's
  for (const Idx d : ds) {
    const Idx* rows = sn.ls + sn.first_left(d);
    const Idx r2 = sn.rows_left(d);
    Idx r1 = 0;
    while (r1 < r2 && rows[r1] < k2) ++r1;
    w.in_target[d] = r1;
    const Idx parent = super_of[sn.ls[sn.pi[d] + sn.columns(d)]];
    const Idx a = parent == s ? -1 : w.batch[parent];
    const double nd = double(sn.columns(d));
    const bool join = a >= 0 && product_entries(double(w.in_target[a]), double(sn.rows_left(a))) * nd <=
                                    product_entries(double(r1), double(r2)) * (nd + kScatterColumns);
    w.batch[d] = join ? a : d;
  }
  // Each batch's members together, its root first.
  std::stable_sort(ds.begin(), ds.end(), [&](Idx x, Idx y) { return w.batch[x] > w.batch[y]; });
  for (size_t b = 0; b < ds.size();) {
    const Idx a = w.batch[ds[b]], ra = sn.rows_left(a);
    size_t e = b + 1;
    int64_t width = sn.columns(ds[b]);
    while (e < ds.size() && w.batch[ds[e]] == a && ra * (width + sn.columns(ds[e])) <= w.capacity) width += sn.columns(ds[e++]);
    const Idx root = e == b + 1 ? ds[b] : a, r2 = sn.rows_left(root);  // a cut batch's later parts lack a
    const Idx* rows = sn.ls + sn.first_left(root);
    w.rel.resize(r2);
    for (Idx t = 0; t < r2; ++t) w.rel[t] = map[rows[t]];
    if (e == b + 1) {  // alone: its own product
      update_target(sn.values_left(lx, root), sn.pi[root + 1] - sn.pi[root], w.rel.data(), w.in_target[root], r2, width,
                    block, nsrow, c, threads);
      b = e;
      continue;
    }
    for (Idx t = 0; t < r2; ++t) w.slot[w.rel[t]] = static_cast<int32_t>(t);
    float* panel = w.panel.get();
    std::fill(panel, panel + r2 * width, 0.f);
    int64_t column = 0;
    for (size_t q = b; q < e; ++q) {
      const Idx d = ds[q], rd = sn.rows_left(d), ndrow = sn.pi[d + 1] - sn.pi[d];
      const Idx* drows = sn.ls + sn.first_left(d);
      const float* src = sn.values_left(lx, d);
      w.place.resize(rd);
      for (Idx t = 0; t < rd; ++t) {
        w.place[t] = w.slot[map[drows[t]]];
        if (w.place[t] < 0) fail(ErrorCode::Internal, "single-precision factorization: a supernode's rows are not its ancestor's");
      }
      for (Idx j = 0; j < sn.columns(d); ++j, ++column) {
        float* dst = panel + column * r2;
        const float* col = src + j * ndrow;
        for (Idx t = 0; t < rd; ++t) dst[w.place[t]] = col[t];
      }
    }
    for (Idx t = 0; t < r2; ++t) w.slot[w.rel[t]] = -1;
    update_target(panel, r2, w.rel.data(), w.in_target[root], r2, width, block, nsrow, c, threads);
    b = e;
  }
  for (const Idx d : ds) w.batch[d] = -1;
}

// Supernodes at least this wide assemble their columns of A on all threads.
constexpr Idx kParallelAssembly = 256;

// Supernodes at least this wide keep 4 KiB pages, so that the pages of their upper triangles,
// which nothing reads or writes, are never touched.
constexpr Idx kSmallPageColumns = 2048;

// Makes the lower part of column k of the factor resident (see allocate_zeroed_factor).
void populate_lower_column(const cholmod_factor& f, const std::vector<int32_t>& super_of, float* lx, int64_t k) {
  const auto* super = static_cast<const Idx*>(f.super);
  const auto* pi = static_cast<const Idx*>(f.pi);
  const auto* px = static_cast<const Idx*>(f.px);
  const int32_t s = super_of[k];
  const Idx col = k - super[s], nsrow = pi[s + 1] - pi[s];
  float* column = lx + px[s] + col * nsrow;
  populate(column + col, column + nsrow);
}

// The factor's xsize floats, zero, with the entries on or below the diagonal of its first `columns`
// columns resident; the upper triangles of supernodes of kSmallPageColumns or more columns are
// never touched (nothing reads or writes them). Gowalla's last supernode is a dense 26,145-column
// square, 2.7 GB of the 3.4 GB factor, so only 2.0 GB are ever touched. Made resident up front by
// every thread, rather than page by page later as the factorization first writes each page (see
// common/zeroed_pages.hpp). Taken from `span`, when given and large enough, with the last
// supernode at its split, so that the pages it populated during the ordering are used.
SingleFactor allocate_zeroed_factor(const cholmod_factor& f, const std::vector<int32_t>& super_of, int64_t columns, int threads,
                                    PrefaultedSpan* span) {
  const int64_t nsuper = static_cast<int64_t>(f.nsuper);
  const auto* super = static_cast<const Idx*>(f.super);
  const auto* pi = static_cast<const Idx*>(f.pi);
  const auto* px = static_cast<const Idx*>(f.px);
  const Idx last = nsuper - 1;
  SingleFactor lx = span ? span->take<float>(size_t(px[last]), f.xsize) : nullptr;
  // Pages the span populated in wide supernodes' upper triangles are given back: nothing touches them.
  const float* populated_from =
      lx ? lx.get() + px[last] - std::min<size_t>(span->populated_before() / sizeof(float), size_t(px[last])) : nullptr;
  const float* populated_to =
      lx ? lx.get() + px[last] + std::min<size_t>(span->populated_after() / sizeof(float), f.xsize - size_t(px[last])) : nullptr;
  if (!lx) lx = map_zeroed<float>(f.xsize);
  for (int64_t s = 0; s < nsuper; ++s) {
    const Idx nscol = super[s + 1] - super[s], nsrow = pi[s + 1] - pi[s];
    if (nscol < kSmallPageColumns) continue;
    no_huge_pages(lx.get() + px[s], lx.get() + px[s + 1]);
    for (Idx k = 1; populated_to && k < nscol; ++k) {
      const float* column = lx.get() + px[s] + k * nsrow;
      release_pages(std::max(column, populated_from), std::min(column + k, populated_to));
    }
  }
  parallel_chunks(columns, 256, threads, [&](int64_t b, int64_t e, int) {
    for (int64_t k = b; k < e; ++k) populate_lower_column(f, super_of, lx.get(), k);
  });
  return lx;
}

}  // namespace

SingleFactor supernodal_factor_single(const cholmod_factor& f, const Csr& x, double l2, TrainContext& ctx, PrefaultedSpan* span,
                                      int64_t batch_columns) {
  if (!f.is_super || !f.super || !f.pi || !f.px || !f.s || !f.Perm)
    fail(ErrorCode::Internal, "single-precision factorization needs CHOLMOD's supernodal analysis");
  const int64_t n = static_cast<int64_t>(f.n), nsuper = static_cast<int64_t>(f.nsuper);
  const auto* super = static_cast<const Idx*>(f.super);
  const auto* pi = static_cast<const Idx*>(f.pi);
  const auto* px = static_cast<const Idx*>(f.px);
  const auto* ls = static_cast<const Idx*>(f.s);
  const auto* perm = static_cast<const Idx*>(f.Perm);

  const PermutedX xp = [&] {
    const Csr xt = transpose(x);
    return PermutedX(xt, {}, std::vector<int64_t>(perm, perm + n));
  }();
  std::vector<int32_t> super_of(n), map(n, -1);
  std::vector<Idx> head(nsuper, -1), next(nsuper, -1), pos(nsuper, 0);
  GramAccumulator gram(n);
  // Progress by the supernodes' own update work, about nscol·nsrow² each.
  double total = 0, done = 0;
  for (int64_t s = 0; s < nsuper; ++s) {
    for (Idx k = super[s]; k < super[s + 1]; ++k) super_of[k] = static_cast<int32_t>(s);
    total += double(super[s + 1] - super[s]) * double(pi[s + 1] - pi[s]) * double(pi[s + 1] - pi[s]);
  }
  // A wide last supernode (Gowalla's: 1.4 of the 2.0 GB touched) is made resident while the others
  // are factored, by a thread of idle priority that takes the cycles a core would otherwise idle
  // through (between BLAS calls, in single-threaded stretches); it is needed only at the end.
  const Idx last = nsuper - 1;
  const bool defer = ctx.threads() >= 2 && nsuper >= 2 && super[last + 1] - super[last] >= kSmallPageColumns;
  const int64_t deferred_from = defer ? int64_t(super[last]) : n;
  SingleFactor lx = allocate_zeroed_factor(f, super_of, deferred_from, ctx.threads(), span);
  IdlePopulator background(n - deferred_from, [&](int64_t i) { populate_lower_column(f, super_of, lx.get(), deferred_from + i); });

  Idx max_rows = 0;
  for (int64_t s = 0; s < nsuper; ++s) max_rows = std::max<Idx>(max_rows, pi[s + 1] - pi[s]);
  // Zero, and kept zero between updates (descendant_product adds to it, subtract_scattered clears it).
  ZeroedArray<float> c = map_zeroed<float>(size_t(max_rows) * kPanel);
  UpdateScratch scratch(nsuper, max_rows, max_rows * std::max<int64_t>(batch_columns, 1));
  std::vector<Idx> pending;
  TrapezoidCholesky cholesky(ctx.threads());
  // Supernode d, whose rows before pos[d] are done, waits for the owner of its next row, if any.
  auto wait_for_next_row = [&](Idx d) {
    if (pos[d] == pi[d + 1] - pi[d]) return;
    const int32_t owner = super_of[ls[pi[d] + pos[d]]];
    next[d] = head[owner];
    head[owner] = d;
  };

  // The products spread over the threads themselves, in tiles fixed by their shapes (dense/lapack.hpp).
  lapack::BlasThreadsScope blas(1);
  for (int64_t s = 0; s < nsuper; ++s) {
    const Idx k1 = super[s], k2 = super[s + 1], nscol = k2 - k1, psi = pi[s], nsrow = pi[s + 1] - psi;
    if (s == last) background.finish(ctx.threads());
    float* block = lx.get() + px[s];
    for (Idx t = 0; t < nsrow; ++t) map[ls[psi + t]] = static_cast<int32_t>(t);

    // The lower part of A's columns k1..k2−1, each rounded once from its double sum; the columns
    // of wide supernodes on all threads (Gowalla's last one: 26,145 columns, most of the work).
    auto assemble = [&](int64_t col_begin, int64_t col_end, GramAccumulator& g) {
      for (int64_t col = col_begin; col < col_end; ++col) {
        const Idx k = k1 + col;
        float* dst = block + col * nsrow;
        double diag = l2;
        for (int64_t p = xp.cols.indptr[k]; p < xp.cols.indptr[k + 1]; ++p) diag += double(xp.cols.values[p]) * xp.cols.values[p];
        dst[col] = static_cast<float>(diag);
        lower_gram_column(xp.rows, xp.cols, k, nullptr, g);
        g.drain([&](int32_t i, double v) {
          if (map[i] < 0) fail(ErrorCode::Internal, "single-precision factorization: a Gram entry outside L's pattern");
          dst[map[i]] = static_cast<float>(v);
        });
      }
    };
    if (nscol >= kParallelAssembly && ctx.threads() > 1)
      parallel_chunks(nscol, 64, ctx.threads(), [&](int64_t b, int64_t e, int) {
        GramAccumulator g(n);  // a few wide supernodes: one per thread and call is cheap
        assemble(b, e, g);
      });
    else
      assemble(0, nscol, gram);

    // Updates from every earlier supernode d with rows in k1..k2−1: its rows from there on, times
    // those rows, subtracted where they land in this supernode.
    pending.clear();
    for (Idx d = head[s]; d != -1; d = next[d]) pending.push_back(d);
    head[s] = -1;
    apply_updates({super, pi, px, ls, pos}, super_of, map, pending, s, lx.get(), block, nsrow, c.get(), scratch, ctx.threads());
    for (const Idx d : pending) {
      pos[d] += scratch.in_target[d];
      wait_for_next_row(d);
    }

    if (s == last) {  // nothing is updated after the last supernode's updates: their buffers go
      c.reset();
      scratch.panel.reset();
    }

    // The supernode's own work is about nscol·nsrow².
    const double work = double(nscol) * double(nsrow) * double(nsrow);
    const bool ok = cholesky.factor(block, nscol, nsrow, nsrow, [&](double fraction) {
      ctx.report("factorize", (done + work * fraction) / total);
      ctx.check_abort();
    });
    if (!ok) return nullptr;
    pos[s] = nscol;
    wait_for_next_row(s);
    for (Idx t = 0; t < nsrow; ++t) map[ls[psi + t]] = -1;
    done += work;
  }
  return lx;
}

}  // namespace cfkit
