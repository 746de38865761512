#pragma once
#include <algorithm>
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
// stored) and src.rank(j, t) (float, what is compared: usually |value|), with the diagonal at t = 0
// and the other rows in increasing order. Returns the kept entries by columns.
// When `nonzeros` is given, it receives the source's count of nonzeros (diagonal included).
template <class Source>
Csr sparsify_columns(const Source& src, int64_t n, int64_t target_nnz, int threads, int64_t* nonzeros = nullptr);

// The same on a Csr whose rows are the matrix's columns, in place.
void sparsify_keep_diagonal(Csr& cols, int64_t target_nnz, int threads = 1);

namespace sparsify_detail {
constexpr int64_t kBuckets = int64_t(1) << 16;
// A rank with NaN as 0, so that every pass agrees it is never kept.
inline float clean(float rank) { return rank == rank ? rank : 0.f; }
// Monotone in a non-negative float: its top 16 bits.
inline int64_t bucket(float mag) {
  uint32_t bits;
  std::memcpy(&bits, &mag, sizeof bits);
  return static_cast<int64_t>(bits >> 15);
}
}  // namespace sparsify_detail

template <class Source>
Csr sparsify_columns(const Source& src, int64_t n, int64_t target_nnz, int threads, int64_t* nonzeros) {
  using sparsify_detail::bucket;
  using sparsify_detail::kBuckets;
  using sparsify_detail::clean;
  // Pass 1: off-diagonal nonzeros per column and per-thread magnitude histograms. Exact zeros
  // (relaxed supernodes, no fill in a dense factor) are never kept.
  std::vector<int64_t> greater(n, 0), equal(n, 0);
  std::vector<std::vector<int64_t>> hist(threads, std::vector<int64_t>(kBuckets, 0));
  parallel_chunks(n, 256, threads, [&](int64_t b, int64_t e, int tid) {
    int64_t* h = hist[tid].data();
    for (int64_t j = b; j < e; ++j)
      for (int64_t t = 1; t < src.count(j); ++t) {
        const float m = clean(src.rank(j, t));
        greater[j] += m > 0.f;
        ++h[bucket(m)];
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
    for (int tid = 1; tid < threads; ++tid)
      for (int64_t k = 0; k < kBuckets; ++k) hist[0][k] += hist[tid][k];
    int64_t above = 0, cut = kBuckets - 1;
    while (above + hist[0][cut] < keep_off) above += hist[0][cut--];
    std::vector<std::vector<std::pair<float, int32_t>>> in_cut(threads);
    parallel_chunks(n, 256, threads, [&](int64_t b, int64_t e, int tid) {
      for (int64_t j = b; j < e; ++j) {
        greater[j] = 0;
        for (int64_t t = 1; t < src.count(j); ++t) {
          const float m = clean(src.rank(j, t));
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
    std::nth_element(mags.begin(), mags.begin() + (rank - 1), mags.end(), std::greater<float>());
    threshold = mags[rank - 1];
    for (auto& part : in_cut)
      for (const auto& [m, j] : part) {
        greater[j] += m > threshold;
        equal[j] += m == threshold;
        above += m > threshold;
      }
    ties = keep_off - above;
  }
  Csr out;
  out.rows = n;
  out.cols = n;
  out.indptr.assign(n + 1, 0);
  for (int64_t j = 0; j < n; ++j) {
    equal[j] = std::min(equal[j], ties);  // now: the ties column j keeps
    ties -= equal[j];
    out.indptr[j + 1] = out.indptr[j] + 1 + greater[j] + equal[j];
  }
  out.indices.resize(out.indptr[n]);
  out.values.resize(out.indptr[n]);
  parallel_chunks(n, 256, threads, [&](int64_t b, int64_t e, int) {
    for (int64_t j = b; j < e; ++j) {
      int64_t q = out.indptr[j], tie_room = equal[j];
      out.indices[q] = src.row(j, 0);
      out.values[q++] = src.value(j, 0);
      for (int64_t t = 1; t < src.count(j); ++t) {
        const float m = clean(src.rank(j, t));
        if (!(m > threshold || (m == threshold && tie_room-- > 0))) continue;
        out.indices[q] = src.row(j, t);
        out.values[q++] = src.value(j, t);
      }
    }
  });
  return out;
}

}  // namespace cfkit
