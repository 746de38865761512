#include "sansa/umr.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "common/error.hpp"
#include "common/heap.hpp"
#include "common/parallel.hpp"
#include "common/simd_clones.hpp"
#include "sansa/global_sparsifier.hpp"
#include "sansa/sparsify.hpp"

namespace cfkit {

namespace {

// Dense scratch for one sparse product at a time, one per thread. Sparse mode keeps a list of the
// rows touched; dense mode (many adds over a short range of rows) skips that bookkeeping and sweeps
// the range [dense_from, n) instead.
struct Scratch {
  std::vector<double> acc;
  std::vector<uint8_t> mark;
  std::vector<int32_t> touched;
  int64_t dense_from = -1;
  explicit Scratch(int64_t n) : acc(n, 0.0), mark(n, 0) {}
  int64_t size() const { return static_cast<int64_t>(acc.size()); }
  // Picks the mode for a product whose results lie in rows >= from and that makes `adds` additions.
  void begin(int64_t from, int64_t adds) { dense_from = adds * 4 > size() - from ? from : -1; }
  void add(int32_t i, double v) {
    acc[i] += v;
    if (dense_from < 0 && !mark[i]) {
      mark[i] = 1;
      touched.push_back(i);
    }
  }
  // Calls visit(row, value) for every touched row (in dense mode, every row of the range), in
  // increasing order when `sorted`, and clears the scratch.
  template <class Visit>
  void drain(Visit&& visit, bool sorted = true) {
    if (dense_from >= 0) {
      for (int64_t i = dense_from; i < size(); ++i) {
        visit(static_cast<int32_t>(i), acc[i]);
        acc[i] = 0.0;
      }
      dense_from = -1;
      return;
    }
    // A dense sweep replaces the sort once more than 1/16 of the rows were touched.
    if (static_cast<int64_t>(touched.size()) * 16 > size()) {
      for (int64_t i = 0; i < size(); ++i) {
        if (!mark[i]) continue;
        visit(static_cast<int32_t>(i), acc[i]);
        acc[i] = 0.0;
        mark[i] = 0;
      }
    } else {
      if (sorted) std::sort(touched.begin(), touched.end());
      for (int32_t i : touched) {
        visit(i, acc[i]);
        acc[i] = 0.0;
        mark[i] = 0;
      }
    }
    touched.clear();
  }
  // Moves the nonzero results out as a sorted sparse vector.
  void take(std::vector<int32_t>& idx, std::vector<double>& val) {
    idx.clear();
    val.clear();
    drain([&](int32_t i, double v) {
      if (v != 0.0) {
        idx.push_back(i);
        val.push_back(v);
      }
    });
  }
};

// One Scratch per worker thread, allocated once per UMR run (a fresh one per block would zero
// n doubles per thread per block, which dominated on large catalogues).
struct ScratchPool {
  std::vector<Scratch> per_thread;
  ScratchPool(int threads, int64_t n) {
    per_thread.reserve(threads);
    for (int t = 0; t < threads; ++t) per_thread.emplace_back(n);
  }
  Scratch& operator[](int tid) { return per_thread[tid]; }
};

// Removes entries whose value is exactly zero, from position `from` on (earlier ones are kept).
template <class V>
void drop_zeros(std::vector<int32_t>& idx, std::vector<V>& val, size_t from) {
  size_t w = from;
  for (size_t t = from; t < idx.size(); ++t)
    if (val[t] != V(0)) {
      idx[w] = idx[t];
      val[w] = val[t];
      ++w;
    }
  idx.resize(w);
  val.resize(w);
}

// y = L·v for a sparse v with sorted rows (L by columns, lower: y has rows >= v's first).
template <class V>
void l_times(const Csr& l, const std::vector<int32_t>& idx, const std::vector<V>& val, Scratch& s) {
  int64_t adds = 0;
  for (int32_t k : idx) adds += l.indptr[k + 1] - l.indptr[k];
  s.begin(idx.empty() ? s.size() : idx[0], adds);
  if (s.dense_from >= 0) {
    double* acc = s.acc.data();
    for (size_t t = 0; t < idx.size(); ++t) {
      const int64_t k = idx[t];
      const double v = val[t];
      for (int64_t p = l.indptr[k]; p < l.indptr[k + 1]; ++p) acc[l.indices[p]] += double(l.values[p]) * v;
    }
    return;
  }
  for (size_t t = 0; t < idx.size(); ++t) {
    const int64_t k = idx[t];
    const double v = val[t];
    for (int64_t p = l.indptr[k]; p < l.indptr[k + 1]; ++p) s.add(l.indices[p], double(l.values[p]) * v);
  }
}

// r = e_j − L m_j as a sorted sparse vector.
void residual(const Csr& l, const Columns& m, int64_t j, Scratch& s, std::vector<int32_t>& ri, std::vector<double>& rv) {
  l_times(l, m.rows[j], m.vals[j], s);
  ri.clear();
  rv.clear();
  // Row j is exactly 0 whenever m_jj = 1, and dropped with the other zeros.
  bool seen_j = false;
  s.drain([&](int32_t i, double v) {
    seen_j |= i == j;
    const double r = (i == j ? 1.0 : 0.0) - v;
    if (r != 0.0) {
      ri.push_back(i);
      rv.push_back(r);
    }
  });
  if (!seen_j) {  // rows are >= j, so row j goes first
    ri.insert(ri.begin(), static_cast<int32_t>(j));
    rv.insert(rv.begin(), 1.0);
  }
}

// ‖e_j − L m_j‖² without materialising the residual.
double residual_norm2(const Csr& l, const Columns& m, int64_t j, Scratch& s) {
  l_times(l, m.rows[j], m.vals[j], s);
  double sum = 0;
  bool seen_j = false;
  s.drain([&](int32_t i, double v) {
    const double r = (i == j ? 1.0 : 0.0) - v;
    seen_j |= i == j;
    sum += r * r;
  }, false);
  return seen_j ? sum : sum + 1.0;
}

double sq_norm(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x * x;
  return s;
}

// out[0..b) += a · row[0..b): the inner loop of the block products, cloned per ISA.
CFKIT_SIMD_CLONES void axpy_row(float a, const float* row, float* out, int64_t b) {
  for (int64_t t = 0; t < b; ++t) out[t] += a * row[t];
}

// Scatters b sparse columns into a dense n x b row-major block.
template <class V>
std::vector<float> dense_block(int64_t n, const std::vector<const std::vector<int32_t>*>& idx,
                               const std::vector<const std::vector<V>*>& val) {
  const int64_t b = static_cast<int64_t>(idx.size());
  std::vector<float> out(n * b, 0.f);
  for (int64_t t = 0; t < b; ++t)
    for (size_t q = 0; q < idx[t]->size(); ++q) out[int64_t((*idx[t])[q]) * b + t] = static_cast<float>((*val[t])[q]);
  return out;
}

// P = L·V for a dense block V (n x b, row-major), computed row by row from L's rows so threads
// write disjoint rows; then visit(chunk, rows) runs on each fixed 256-row chunk for reductions.
template <class Visit>
std::vector<float> l_times_block(const Csr& l_rows, const std::vector<float>& v, int64_t b, TrainContext& ctx, Visit&& visit) {
  const int64_t n = l_rows.rows;
  std::vector<float> p(n * b, 0.f);
  const int64_t chunk = 256, chunks = (n + chunk - 1) / chunk;
  parallel_chunks(chunks, 1, ctx.threads(), [&](int64_t c0, int64_t c1, int) {
    for (int64_t c = c0; c < c1; ++c) {
      const int64_t i0 = c * chunk, i1 = std::min(n, i0 + chunk);
      for (int64_t i = i0; i < i1; ++i) {
        float* pi = &p[i * b];
        for (int64_t q = l_rows.indptr[i]; q < l_rows.indptr[i + 1]; ++q)
          axpy_row(l_rows.values[q], &v[int64_t(l_rows.indices[q]) * b], pi, b);
      }
      visit(c, i0, i1, p);
    }
  });
  return p;
}

constexpr int64_t kRowChunk = 256;

// Scattered multiply-adds of L·v over sparse columns, against the block product's n·nnz(L)·b/16.
template <class V>
bool block_is_cheaper(const Csr& l, const std::vector<const std::vector<int32_t>*>& idx) {
  double sparse = 0;
  for (const auto* ix : idx)
    for (int32_t k : *ix) sparse += double(l.indptr[k + 1] - l.indptr[k]);
  return double(l.nnz()) * double(idx.size()) / 16.0 < sparse;
}

// Squared residual norms ‖e_j − L m_j‖² of the columns [j0, j0 + b) from one block product.
void block_residual_norms(const Csr& l_rows, const Columns& m, int64_t j0, int64_t b, TrainContext& ctx, double* out) {
  const int64_t n = l_rows.rows;
  std::vector<const std::vector<int32_t>*> idx;
  std::vector<const std::vector<float>*> val;
  for (int64_t t = 0; t < b; ++t) {
    idx.push_back(&m.rows[j0 + t]);
    val.push_back(&m.vals[j0 + t]);
  }
  std::vector<float> v = dense_block(n, idx, val);
  const int64_t chunks = (n + kRowChunk - 1) / kRowChunk;
  std::vector<double> part(chunks * b, 0.0);
  l_times_block(l_rows, v, b, ctx, [&](int64_t c, int64_t i0, int64_t i1, const std::vector<float>& p) {
    double* acc = &part[c * b];
    for (int64_t i = i0; i < i1; ++i)
      for (int64_t t = 0; t < b; ++t) {
        const double r = (i == j0 + t ? 1.0 : 0.0) - double(p[i * b + t]);
        acc[t] += r * r;
      }
  });
  for (int64_t t = 0; t < b; ++t) {
    double sum = 0;
    for (int64_t c = 0; c < chunks; ++c) sum += part[c * b + t];
    out[t] = sum;
  }
}

// Squared residual norm of every column, block by block, each block by the cheaper of scattered
// sparse products and one SIMD block product.
std::vector<double> residual_norms(const Csr& l, const Csr& l_rows, const Columns& m, int64_t width, ScratchPool& pool,
                                   TrainContext& ctx) {
  const int64_t n = l.rows;
  std::vector<double> out(n);
  std::vector<int64_t> sparse_cols;
  for (int64_t j0 = 0; j0 < n; j0 += width) {
    const int64_t b = std::min(width, n - j0);
    std::vector<const std::vector<int32_t>*> idx;
    for (int64_t t = 0; t < b; ++t) idx.push_back(&m.rows[j0 + t]);
    if (block_is_cheaper<float>(l, idx))
      block_residual_norms(l_rows, m, j0, b, ctx, &out[j0]);
    else
      for (int64_t t = 0; t < b; ++t) sparse_cols.push_back(j0 + t);
  }
  // All columns that are cheaper one by one, in a single parallel pass.
  parallel_chunks(static_cast<int64_t>(sparse_cols.size()), 64, ctx.threads(), [&](int64_t t0, int64_t t1, int tid) {
    for (int64_t t = t0; t < t1; ++t) out[sparse_cols[t]] = residual_norm2(l, m, sparse_cols[t], pool[tid]);
  });
  return out;
}

double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0.0 : s / double(v.size());
}

// m_j + α·r (m_j diagonal first, then sorted rows > j; r has rows > j only), exact zeros dropped.
void apply_step(const std::vector<int32_t>& mr, const std::vector<float>& mv, double alpha, const std::vector<int32_t>& ri,
                const std::vector<double>& rv, std::vector<int32_t>& out_rows, std::vector<float>& out_vals) {
  out_rows.clear();
  out_vals.clear();
  out_rows.push_back(mr[0]);
  out_vals.push_back(mv[0]);
  size_t a = 1, b = 0;
  while (a < mr.size() || b < ri.size()) {
    if (b >= ri.size() || (a < mr.size() && mr[a] < ri[b])) {
      out_rows.push_back(mr[a]);
      out_vals.push_back(mv[a++]);
    } else if (a >= mr.size() || ri[b] < mr[a]) {
      out_rows.push_back(ri[b]);
      out_vals.push_back(static_cast<float>(alpha * rv[b++]));
    } else {
      out_rows.push_back(mr[a]);
      out_vals.push_back(static_cast<float>(double(mv[a++]) + alpha * rv[b++]));
    }
  }
  drop_zeros(out_rows, out_vals, 1);  // entries that cancelled exactly; the diagonal stays
}

// The minimal-residual step length α = ⟨r, Lr⟩ / ‖Lr‖² for a sparse r, or 0 when Lr = 0.
double mr_alpha_sparse(const Csr& l, const std::vector<int32_t>& ri, const std::vector<double>& rv, Scratch& s) {
  std::vector<int32_t> li;
  std::vector<double> lv;
  l_times(l, ri, rv, s);
  s.take(li, lv);
  double num = 0;
  for (size_t a = 0, b = 0; a < ri.size() && b < li.size();) {
    if (ri[a] < li[b]) ++a;
    else if (ri[a] > li[b]) ++b;
    else num += rv[a++] * lv[b++];
  }
  const double den = sq_norm(lv);
  return den > 0 ? num / den : 0.0;
}

// Moves M into one CSR, freeing each column once it is copied, so the two copies are never both
// whole.
Csr to_csr(Columns&& m, int64_t n) {
  Csr out;
  out.rows = n;
  out.cols = n;
  out.indptr.assign(n + 1, 0);
  for (int64_t j = 0; j < n; ++j) out.indptr[j + 1] = out.indptr[j] + static_cast<int64_t>(m.rows[j].size());
  out.indices.reserve(out.indptr[n]);
  out.values.reserve(out.indptr[n]);
  for (int64_t j = 0; j < n; ++j) {
    out.indices.insert(out.indices.end(), m.rows[j].begin(), m.rows[j].end());
    out.values.insert(out.values.end(), m.vals[j].begin(), m.vals[j].end());
    std::vector<int32_t>().swap(m.rows[j]);
    std::vector<float>().swap(m.vals[j]);
  }
  m = Columns();
  return out;
}

Columns from_csr(const Csr& c) {
  Columns m;
  m.rows.resize(c.rows);
  m.vals.resize(c.rows);
  for (int64_t j = 0; j < c.rows; ++j) {
    m.rows[j].assign(c.indices.begin() + c.indptr[j], c.indices.begin() + c.indptr[j + 1]);
    m.vals[j].assign(c.values.begin() + c.indptr[j], c.values.begin() + c.indptr[j + 1]);
  }
  m.nnz = c.nnz();
  return m;
}

// α for every column of a block at once from one block product P = L·R; the per-column dot products
// are summed over fixed row chunks in a fixed order, so α does not depend on the thread count.
std::vector<double> mr_alpha_dense(const Csr& l_rows, const std::vector<std::vector<int32_t>>& ri,
                                   const std::vector<std::vector<double>>& rv, TrainContext& ctx) {
  const int64_t n = l_rows.rows, b = static_cast<int64_t>(ri.size());
  std::vector<const std::vector<int32_t>*> idx;
  std::vector<const std::vector<double>*> val;
  for (int64_t t = 0; t < b; ++t) {
    idx.push_back(&ri[t]);
    val.push_back(&rv[t]);
  }
  const std::vector<float> r = dense_block(n, idx, val);
  const int64_t chunks = (n + kRowChunk - 1) / kRowChunk;
  std::vector<double> num(chunks * b, 0.0), den(chunks * b, 0.0);
  l_times_block(l_rows, r, b, ctx, [&](int64_t c, int64_t i0, int64_t i1, const std::vector<float>& p) {
    double* nu = &num[c * b];
    double* de = &den[c * b];
    for (int64_t i = i0; i < i1; ++i)
      for (int64_t t = 0; t < b; ++t) {
        nu[t] += double(r[i * b + t]) * p[i * b + t];
        de[t] += double(p[i * b + t]) * p[i * b + t];
      }
  });
  std::vector<double> alpha(b, 0.0);
  for (int64_t t = 0; t < b; ++t) {
    double nn = 0, dd = 0;
    for (int64_t c = 0; c < chunks; ++c) {
      nn += num[c * b + t];
      dd += den[c * b + t];
    }
    alpha[t] = dd > 0 ? nn / dd : 0.0;
  }
  return alpha;
}

// Runs the MR update on `cols`, then swaps the results in, in column order. L·r is formed per
// column from sparse r when the residuals are sparse, and as one SIMD block product when they are
// dense enough that the block product costs less.
std::vector<int64_t> update_columns(const Csr& l, const Csr& l_rows, Columns& m, const std::vector<int64_t>& cols,
                                    GlobalSparsifier& sp, ScratchPool& pool, TrainContext& ctx) {
  const int64_t b = static_cast<int64_t>(cols.size());
  std::vector<std::vector<int32_t>> ri(b);
  std::vector<std::vector<double>> rv(b);
  parallel_chunks(b, 8, ctx.threads(), [&](int64_t t0, int64_t t1, int tid) {
    for (int64_t t = t0; t < t1; ++t) residual(l, m, cols[t], pool[tid], ri[t], rv[t]);
  });
  std::vector<const std::vector<int32_t>*> ridx;
  for (int64_t t = 0; t < b; ++t) ridx.push_back(&ri[t]);
  std::vector<double> alpha(b, 0.0);
  if (block_is_cheaper<double>(l, ridx)) {
    alpha = mr_alpha_dense(l_rows, ri, rv, ctx);
  } else {
    parallel_chunks(b, 8, ctx.threads(), [&](int64_t t0, int64_t t1, int tid) {
      for (int64_t t = t0; t < t1; ++t)
        if (!ri[t].empty()) alpha[t] = mr_alpha_sparse(l, ri[t], rv[t], pool[tid]);
    });
  }
  std::vector<std::vector<int32_t>> new_rows(b);
  std::vector<std::vector<float>> new_vals(b);
  parallel_chunks(b, 8, ctx.threads(), [&](int64_t t0, int64_t t1, int) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t j = cols[t];
      if (ri[t].empty() || alpha[t] == 0.0) {
        new_rows[t] = m.rows[j];
        new_vals[t] = m.vals[j];
      } else {
        apply_step(m.rows[j], m.vals[j], alpha[t], ri[t], rv[t], new_rows[t], new_vals[t]);
      }
    }
  });
  for (int64_t t = 0; t < b; ++t) sp.replace(cols[t], std::move(new_rows[t]), std::move(new_vals[t]));
  sp.enforce(ctx);
  std::vector<int64_t> changed(cols);
  changed.insert(changed.end(), sp.last_pruned().begin(), sp.last_pruned().end());
  std::sort(changed.begin(), changed.end());
  changed.erase(std::unique(changed.begin(), changed.end()), changed.end());
  return changed;
}

// Refreshes the squared residual norms of the given columns only.
void refresh_norms(const Csr& l, const Columns& m, const std::vector<int64_t>& cols, std::vector<double>& norms,
                   ScratchPool& pool, TrainContext& ctx) {
  parallel_chunks(static_cast<int64_t>(cols.size()), 16, ctx.threads(), [&](int64_t t0, int64_t t1, int tid) {
    for (int64_t t = t0; t < t1; ++t) norms[cols[t]] = residual_norm2(l, m, cols[t], pool[tid]);
  });
}

}  // namespace

double inverse_loss(const Csr& l, const Csr& m, TrainContext& ctx) {
  Columns cm = from_csr(m);
  ScratchPool pool(ctx.threads(), l.rows);
  return mean(residual_norms(l, transpose(l), cm, 64, pool, ctx));
}

// The scans and finetune steps on M. The sparsifier's counts, L by rows and the scratch live only
// here, so they are freed before M is copied out.
static void run_steps(const Csr& l, Columns& m, int64_t target_nnz, const UmrOptions& opts, TrainContext& ctx, std::vector<double>* losses) {
  const int64_t n = l.rows;
  GlobalSparsifier sp(m, target_nnz);
  sp.enforce(ctx);
  const Csr l_rows = transpose(l);  // L by rows, for the block products
  ScratchPool pool(ctx.threads(), n);
  const double density = double(target_nnz) / (double(n) * double(n));
  const int64_t width = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(double(n) * density)));
  const int total_steps = opts.scans + opts.finetune;
  int step = 0;
  auto record = [&](const std::vector<double>& norms) {
    double loss = mean(norms);
    if (losses) losses->push_back(loss);
    ctx.report(step == 0 ? "umr" : (step <= opts.scans ? "umr-scan" : "umr-finetune"),
               total_steps ? double(step) / total_steps : 1.0, loss);
    return loss;
  };
  std::vector<double> norms = residual_norms(l, l_rows, m, width, pool, ctx);
  double loss = record(norms);
  const double sqrt_n = std::sqrt(double(n));
  for (int s = 1; s <= opts.scans; ++s) {
    ctx.check_abort();
    if (opts.loss_threshold > 0 && loss < opts.loss_threshold) break;
    const double thr = std::pow(10.0, std::max(double(-s - 1), opts.log_norm_threshold));
    std::vector<int64_t> cols;
    for (int64_t b0 = 0; b0 < n; b0 += width) {
      cols.clear();
      for (int64_t j = b0; j < std::min(n, b0 + width); ++j)
        if (std::sqrt(norms[j]) / sqrt_n > thr) cols.push_back(j);
      if (!cols.empty()) update_columns(l, l_rows, m, cols, sp, pool, ctx);
      if ((b0 / width) % 64 == 0) ctx.check_abort();
    }
    ++step;
    norms = residual_norms(l, l_rows, m, width, pool, ctx);
    release_free_heap();
    loss = record(norms);
  }
  for (int f = 1; f <= opts.finetune; ++f) {
    ctx.check_abort();
    if (opts.loss_threshold > 0 && loss < opts.loss_threshold) break;
    std::vector<std::pair<double, int64_t>> ranked(n);
    for (int64_t j = 0; j < n; ++j) ranked[j] = {std::sqrt(norms[j]) / std::sqrt(double(n - j)), j};
    const int64_t k = std::min<int64_t>(width, n);
    std::partial_sort(ranked.begin(), ranked.begin() + k, ranked.end(),
                      [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); });
    std::vector<int64_t> cols;
    for (int64_t t = 0; t < k; ++t)
      if (ranked[t].first > 0) cols.push_back(ranked[t].second);
    std::sort(cols.begin(), cols.end());
    // Only the updated columns and those that lost entries to sparsification change residual.
    if (!cols.empty()) refresh_norms(l, m, update_columns(l, l_rows, m, cols, sp, pool, ctx), norms, pool, ctx);
    // Each step frees its block's residuals and dense products (tens of MiB at high densities).
    release_free_heap();
    ++step;
    loss = record(norms);
  }
}

Csr umr_inverse(const Csr& l, int64_t target_nnz, const UmrOptions& opts, TrainContext& ctx, std::vector<double>* losses) {
  const int64_t n = l.rows;
  require(opts.scans >= 0 && opts.finetune >= 0, "UMR scans and finetune steps must be >= 0");
  // M₀ = 2I − L: the diagonal stays 1, off-diagonals are −L_ij.
  Columns m;
  m.rows.resize(n);
  m.vals.resize(n);
  for (int64_t j = 0; j < n; ++j) {
    m.rows[j].reserve(l.indptr[j + 1] - l.indptr[j]);
    m.vals[j].reserve(l.indptr[j + 1] - l.indptr[j]);
    for (int64_t p = l.indptr[j]; p < l.indptr[j + 1]; ++p) {
      m.rows[j].push_back(l.indices[p]);
      m.vals[j].push_back(p == l.indptr[j] ? 1.0f : -l.values[p]);
    }
    m.nnz += static_cast<int64_t>(m.rows[j].size());
  }
  target_nnz = std::max<int64_t>(target_nnz, n);
  run_steps(l, m, target_nnz, opts, ctx, losses);
  return to_csr(std::move(m), n);
}

Csr exact_inverse(const Csr& l, int64_t target_nnz, TrainContext& ctx) {
  const int64_t n = l.rows;
  std::vector<std::vector<int32_t>> rows(n);
  std::vector<std::vector<float>> vals(n);
  parallel_chunks(n, 16, ctx.threads(), [&](int64_t b, int64_t e, int tid) {
    std::vector<double> x(n, 0.0);
    for (int64_t j = b; j < e; ++j) {
      if (tid == 0 && (j & 63) == 0) ctx.check_abort();
      // Forward substitution of L x = e_j over rows j..n-1 (L unit lower, by columns).
      x[j] = 1.0;
      for (int64_t k = j; k < n; ++k) {
        const double xk = x[k];
        if (xk == 0.0) continue;
        for (int64_t p = l.indptr[k] + 1; p < l.indptr[k + 1]; ++p) x[l.indices[p]] -= double(l.values[p]) * xk;
      }
      rows[j].push_back(static_cast<int32_t>(j));
      vals[j].push_back(1.0f);
      x[j] = 0.0;
      for (int64_t i = j + 1; i < n; ++i)
        if (x[i] != 0.0) {
          rows[j].push_back(static_cast<int32_t>(i));
          vals[j].push_back(static_cast<float>(x[i]));
          x[i] = 0.0;
        }
    }
  });
  Columns m;
  m.rows = std::move(rows);
  m.vals = std::move(vals);
  Csr out = to_csr(std::move(m), n);
  sparsify_keep_diagonal(out, target_nnz, ctx.threads());
  return out;
}

}  // namespace cfkit
