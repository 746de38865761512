#pragma once
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "common/parallel.hpp"
#include "sparse/csr.hpp"

namespace cfkit {

// Global magnitude sparsification of a matrix stored by columns whose first entry in every column is
// the diagonal. All diagonals are kept; of the rest, exactly max(0, target_nnz − n) entries with the
// largest rank survive, ties going to the lower (column, row), so the count is exact and the result
// deterministic. Off-diagonal entries of rank 0 are dropped, so fewer survive when the matrix has
// fewer nonzeros than that.
//
// `src` gives column j as src.count(j) entries, src.row(j, t), src.value(j, t) (float, what is
// stored) and src.ranked(j), a pointer to count(j) floats or doubles whose magnitudes (as float) are
// what is compared (usually the values themselves), with the diagonal at t = 0 and the other rows in
// increasing order. Returns the kept entries by columns.
// When `nonzeros` is given, it receives the source's count of nonzeros (diagonal included).
template <class Source>
Csr sparsify_columns(const Source& src, int64_t n, int64_t target_nnz, int threads, int64_t* nonzeros = nullptr);

// The same on a Csr whose rows are the matrix's columns, in place.
void sparsify_keep_diagonal(Csr& cols, int64_t target_nnz, int threads = 1);

namespace sparsify_detail {
constexpr int64_t kBuckets = int64_t(1) << 16;
// What an entry is ranked by: its magnitude in float.
template <class T>
float magnitude(T x) {
  return static_cast<float>(std::fabs(x));
}
// A rank with NaN as 0, so that every pass agrees it is never kept.
inline float clean(float rank) { return rank == rank ? rank : 0.f; }
// Monotone in a non-negative float: its top 16 bits.
inline int64_t bucket(float mag) {
  uint32_t bits;
  std::memcpy(&bits, &mag, sizeof bits);
  return static_cast<int64_t>(bits >> 15);
}

// Column j keeps its diagonal, greater[j] entries above the threshold and, of its equal[j] entries at
// it, as many of the `ties` as are left after the lower columns: equal[] becomes what each column
// keeps at the threshold, and `out` gets its size and indptr.
inline void lay_out(Csr& out, int64_t n, const std::vector<int64_t>& greater, std::vector<int64_t>& equal, int64_t ties) {
  out.rows = n;
  out.cols = n;
  out.indptr.assign(n + 1, 0);
  for (int64_t j = 0; j < n; ++j) {
    equal[j] = std::min(equal[j], ties);
    ties -= equal[j];
    out.indptr[j + 1] = out.indptr[j] + 1 + greater[j] + equal[j];
  }
  out.indices.resize(out.indptr[n]);
  out.values.resize(out.indptr[n]);
}

// A Csr whose rows are the matrix's columns, as a source.
struct CsrColumns {
  const Csr& c;
  int64_t count(int64_t j) const { return c.indptr[j + 1] - c.indptr[j]; }
  int32_t row(int64_t j, int64_t t) const { return c.indices[c.indptr[j] + t]; }
  float value(int64_t j, int64_t t) const { return c.values[c.indptr[j] + t]; }
  const float* ranked(int64_t j) const { return c.values.data() + c.indptr[j]; }
};

// The value at rank `rank` (1-based, from the top) among `mags` (reordered).
inline float rank_from_top(std::vector<float>& mags, int64_t rank) {
  std::nth_element(mags.begin(), mags.begin() + (rank - 1), mags.end(), std::greater<float>());
  return mags[rank - 1];
}

// Adds every thread's histogram into the first, and returns it.
inline std::vector<int64_t>& merged(std::vector<std::vector<int64_t>>& hist) {
  for (size_t tid = 1; tid < hist.size(); ++tid)
    for (int64_t k = 0; k < kBuckets; ++k) hist[0][k] += hist[tid][k];
  return hist[0];
}

// The bucket holding the rank-th largest entry (1-based) of a histogram; `above` gets the count of
// the buckets above it.
inline int64_t bucket_holding(const std::vector<int64_t>& hist, int64_t rank, int64_t& above) {
  int64_t b = kBuckets - 1;
  above = 0;
  while (above + hist[b] < rank) above += hist[b--];
  return b;
}

// The cut's rule for one entry of a column, walked in row order: above the threshold it stays, at
// the threshold while the column still has tie room.
inline bool kept(float rank, float threshold, int64_t& tie_room) {
  return rank > threshold || (rank == threshold && tie_room-- > 0);
}

// One pass over the entries instead of three, for when at most 1 % are kept (SANSA's factor on
// Gowalla keeps 0.2 % at density 5e-4; sparsification there 1.1 -> 0.6 s, freeing the factor
// included). At a larger share the exact passes are about as fast and need no extra memory.
// - every 16th column's magnitude histogram, scaled up, gives the bucket `cut` at and above which a
//   quarter more entries lie than are kept;
// - one pass counts the nonzeros and collects every entry in or above `cut`, testing chunks of
//   kChunk entries branch-free first (Gowalla's sparsify stage: 0.43 -> 0.22 s, of which 0.09 s is
//   unmapping the factor);
// - when at least as many were collected as are kept, they hold every kept entry and every tie at the
//   threshold, so the threshold and the ties are found among them alone, with the exact passes'
//   result. Otherwise (the sample misjudged the distribution) this returns false, and so it does
//   when a thread collects more than 2·keep + 2^20 entries (8 bytes each), which bounds its memory.
template <class Source>
bool sparsify_from_sample(const Source& src, int64_t n, int64_t target_nnz, int threads, int64_t* nonzeros, Csr& out) {
  constexpr int64_t kStride = 16;
  int64_t stored = 0;
  for (int64_t j = 0; j < n; ++j) stored += src.count(j) - 1;
  const int64_t want = std::min(stored, target_nnz - n);
  if (want <= 0 || want > stored / 100 || n < 16 * kStride) return false;
  std::vector<std::vector<int64_t>> hist(threads, std::vector<int64_t>(kBuckets, 0));
  std::vector<int64_t> sampled_by(threads, 0);
  parallel_chunks((n + kStride - 1) / kStride, 16, threads, [&](int64_t b, int64_t e, int tid) {
    int64_t* h = hist[tid].data();
    for (int64_t j = b * kStride; j < e * kStride && j < n; j += kStride) {
      const auto* x = src.ranked(j);
      for (int64_t t = 1; t < src.count(j); ++t) ++h[bucket(clean(magnitude(x[t])))];
      sampled_by[tid] += src.count(j) - 1;
    }
  });
  int64_t sampled = 0;
  for (int64_t c : sampled_by) sampled += c;
  const std::vector<int64_t>& sample = merged(hist);
  const double need = 1.25 * double(want) * double(sampled) / double(stored) + 64;
  int64_t cut = kBuckets - 1, at_or_above = sample[cut];
  while (cut > 1 && double(at_or_above) < need) at_or_above += sample[--cut];
  if (double(at_or_above) < need) return false;

  // The smallest magnitude in bucket `cut` (buckets are the top bits of non-negative floats).
  const float cut_value = [&] {
    const uint32_t bits = static_cast<uint32_t>(cut) << 15;
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
  }();
  constexpr int64_t kChunk = 64;
  struct Found {
    float rank;
    int32_t t;
  };
  const size_t cap = size_t(2 * want + (int64_t(1) << 20));
  std::vector<std::vector<Found>> found(threads);
  std::vector<int64_t> begin(n), count(n), nonzero_by(threads, 0);
  std::vector<int32_t> owner(n);
  std::atomic<bool> overflow{false};
  parallel_chunks(n, 256, threads, [&](int64_t b, int64_t e, int tid) {
    std::vector<Found>& f = found[tid];
    if (f.capacity() == 0) f.reserve(std::min(cap, size_t(2 * want / threads + 1024)));
    int64_t nz = 0;
    for (int64_t j = b; j < e && !overflow.load(std::memory_order_relaxed); ++j) {
      const auto* x = src.ranked(j);
      owner[j] = tid;
      begin[j] = static_cast<int64_t>(f.size());
      for (int64_t t0 = 1; t0 < src.count(j); t0 += kChunk) {
        const int64_t t1 = std::min(src.count(j), t0 + kChunk);
        // Branch-free with int counters, so that GCC vectorizes it (NaN fails both tests); only
        // chunks holding an entry at or above the cut are walked again.
        int chunk_nz = 0, hits = 0;
        for (int64_t t = t0; t < t1; ++t) {
          const float m = magnitude(x[t]);
          chunk_nz += m > 0.f;
          hits += m >= cut_value;
        }
        nz += chunk_nz;
        if (hits == 0) continue;
        for (int64_t t = t0; t < t1; ++t) {
          const float m = magnitude(x[t]);
          if (m >= cut_value) f.push_back({m, static_cast<int32_t>(t)});
        }
      }
      count[j] = static_cast<int64_t>(f.size()) - begin[j];
      if (f.size() > cap) overflow = true;
    }
    nonzero_by[tid] += nz;
  });
  if (overflow) return false;
  int64_t off = 0, collected = 0;
  for (int tid = 0; tid < threads; ++tid) {
    off += nonzero_by[tid];
    collected += static_cast<int64_t>(found[tid].size());
  }
  if (nonzeros) *nonzeros = off + n;
  const int64_t keep_off = std::min(off, target_nnz - n);
  if (keep_off <= 0 || collected < keep_off) return false;
  // The threshold: the bucket of the keep_off-th largest collected rank, then the rank within it.
  std::vector<int64_t> top(kBuckets, 0);
  for (const auto& f : found)
    for (const Found& x : f) ++top[bucket(x.rank)];
  int64_t above = 0;
  const int64_t in = bucket_holding(top, keep_off, above);
  std::vector<float> mags;
  mags.reserve(top[in]);
  for (const auto& f : found)
    for (const Found& x : f)
      if (bucket(x.rank) == in) mags.push_back(x.rank);
  const float threshold = rank_from_top(mags, keep_off - above);
  std::vector<int64_t> greater(n, 0), equal(n, 0);
  parallel_chunks(n, 256, threads, [&](int64_t b, int64_t e, int) {
    for (int64_t j = b; j < e; ++j)
      for (int64_t c = 0; c < count[j]; ++c) {
        const float m = found[owner[j]][begin[j] + c].rank;
        greater[j] += m > threshold;
        equal[j] += m == threshold;
      }
  });
  int64_t greater_total = 0;
  for (int64_t g : greater) greater_total += g;
  lay_out(out, n, greater, equal, keep_off - greater_total);
  parallel_chunks(n, 256, threads, [&](int64_t b, int64_t e, int) {
    for (int64_t j = b; j < e; ++j) {
      int64_t q = out.indptr[j], tie_room = equal[j];
      out.indices[q] = src.row(j, 0);
      out.values[q++] = src.value(j, 0);
      for (int64_t c = 0; c < count[j]; ++c) {
        const Found& x = found[owner[j]][begin[j] + c];
        if (!kept(x.rank, threshold, tie_room)) continue;
        out.indices[q] = src.row(j, x.t);
        out.values[q++] = src.value(j, x.t);
      }
    }
  });
  return true;
}
}  // namespace sparsify_detail

template <class Source>
Csr sparsify_columns(const Source& src, int64_t n, int64_t target_nnz, int threads, int64_t* nonzeros) {
  using sparsify_detail::bucket;
  using sparsify_detail::kBuckets;
  using sparsify_detail::clean;
  using sparsify_detail::magnitude;
  {
    Csr out;
    if (sparsify_detail::sparsify_from_sample(src, n, target_nnz, threads, nonzeros, out)) return out;
  }
  // Pass 1: off-diagonal nonzeros per column and per-thread magnitude histograms. Exact zeros
  // (relaxed supernodes, no fill in a dense factor) are never kept.
  std::vector<int64_t> greater(n, 0), equal(n, 0);
  std::vector<std::vector<int64_t>> hist(threads, std::vector<int64_t>(kBuckets, 0));
  parallel_chunks(n, 256, threads, [&](int64_t b, int64_t e, int tid) {
    int64_t* h = hist[tid].data();
    for (int64_t j = b; j < e; ++j) {
      const auto* x = src.ranked(j);
      for (int64_t t = 1; t < src.count(j); ++t) {
        const float m = clean(magnitude(x[t]));
        greater[j] += m > 0.f;
        ++h[bucket(m)];
      }
    }
  });
  int64_t off = 0;
  for (int64_t c : greater) off += c;
  if (nonzeros) *nonzeros = off + n;
  const int64_t keep_off = std::max<int64_t>(0, std::min(off, target_nnz - n));
  // Keep |v| > threshold, and the first `ties` entries with |v| == threshold in (column, row) order.
  // greater[j] / equal[j] count column j's entries above / at the threshold.
  float threshold = 0.f;
  int64_t ties = 0;
  if (keep_off == 0) {
    threshold = INFINITY;
    std::fill(greater.begin(), greater.end(), 0);
  } else if (keep_off < off) {
    // Pass 2: the bucket holding the keep_off-th largest magnitude; the entries above it counted per
    // column, the entries in it collected, and the exact threshold found among those only.
    int64_t above = 0;
    const int64_t cut = sparsify_detail::bucket_holding(sparsify_detail::merged(hist), keep_off, above);
    std::vector<std::vector<std::pair<float, int32_t>>> in_cut(threads);
    parallel_chunks(n, 256, threads, [&](int64_t b, int64_t e, int tid) {
      for (int64_t j = b; j < e; ++j) {
        const auto* x = src.ranked(j);
        greater[j] = 0;
        for (int64_t t = 1; t < src.count(j); ++t) {
          const float m = clean(magnitude(x[t]));
          const int64_t k = bucket(m);
          greater[j] += k > cut;
          if (k == cut) in_cut[tid].emplace_back(m, static_cast<int32_t>(j));
        }
      }
    });
    std::vector<float> mags;
    for (auto& part : in_cut)
      for (const auto& e : part) mags.push_back(e.first);
    const int64_t rank = keep_off - above;  // 1-based, within the cut bucket
    threshold = sparsify_detail::rank_from_top(mags, rank);
    for (auto& part : in_cut)
      for (const auto& [m, j] : part) {
        greater[j] += m > threshold;
        equal[j] += m == threshold;
        above += m > threshold;
      }
    ties = keep_off - above;
  }
  Csr out;
  sparsify_detail::lay_out(out, n, greater, equal, ties);
  parallel_chunks(n, 256, threads, [&](int64_t b, int64_t e, int) {
    for (int64_t j = b; j < e; ++j) {
      const auto* x = src.ranked(j);
      int64_t q = out.indptr[j], tie_room = equal[j];
      out.indices[q] = src.row(j, 0);
      out.values[q++] = src.value(j, 0);
      for (int64_t t = 1; t < src.count(j); ++t) {
        const float m = clean(magnitude(x[t]));
        if (!sparsify_detail::kept(m, threshold, tie_room)) continue;
        out.indices[q] = src.row(j, t);
        out.values[q++] = src.value(j, t);
      }
    }
  });
  return out;
}

}  // namespace cfkit
