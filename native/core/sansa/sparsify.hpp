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
// largest |value| survive, ties going to the lower (column, row), so the count is exact and the
// result deterministic.
//
// `src` gives column j as src.count(j) entries, src.row(j, t) and src.value(j, t) (float), with the
// diagonal at t = 0 and the other rows in increasing order. Returns the kept entries by columns.
template <class Source>
Csr sparsify_columns(const Source& src, int64_t n, int64_t target_nnz, int threads);

// The same on a Csr whose rows are the matrix's columns, in place.
void sparsify_keep_diagonal(Csr& cols, int64_t target_nnz, int threads = 1);

namespace sparsify_detail {
constexpr int64_t kBuckets = int64_t(1) << 16;
// Monotone in a non-negative float: its top 16 bits.
inline int64_t bucket(float mag) {
  uint32_t bits;
  std::memcpy(&bits, &mag, sizeof bits);
  return static_cast<int64_t>(bits >> 15);
}
}  // namespace sparsify_detail

template <class Source>
Csr sparsify_columns(const Source& src, int64_t n, int64_t target_nnz, int threads) {
  using sparsify_detail::bucket;
  using sparsify_detail::kBuckets;
  int64_t off = 0;
  for (int64_t j = 0; j < n; ++j) off += src.count(j) - 1;
  const int64_t keep_off = std::max<int64_t>(0, std::min(off, target_nnz - n));
  // Keep |v| > threshold, and the first `ties` entries with |v| == threshold in (column, row) order.
  float threshold = -1.f;
  int64_t ties = 0;
  if (keep_off == 0) {
    threshold = INFINITY;
  } else if (keep_off < off) {
    // The bucket holding the keep_off-th largest magnitude, from per-thread histograms; then the exact
    // value among that bucket's magnitudes only.
    std::vector<std::vector<int64_t>> hist(threads, std::vector<int64_t>(kBuckets, 0));
    parallel_chunks(n, 256, threads, [&](int64_t b, int64_t e, int tid) {
      int64_t* h = hist[tid].data();
      for (int64_t j = b; j < e; ++j)
        for (int64_t t = 1; t < src.count(j); ++t) ++h[bucket(std::fabs(src.value(j, t)))];
    });
    for (int tid = 1; tid < threads; ++tid)
      for (int64_t k = 0; k < kBuckets; ++k) hist[0][k] += hist[tid][k];
    int64_t above = 0, cut = kBuckets - 1;
    while (above + hist[0][cut] < keep_off) above += hist[0][cut--];
    std::vector<std::vector<float>> in_cut(threads);
    parallel_chunks(n, 256, threads, [&](int64_t b, int64_t e, int tid) {
      for (int64_t j = b; j < e; ++j)
        for (int64_t t = 1; t < src.count(j); ++t) {
          const float m = std::fabs(src.value(j, t));
          if (bucket(m) == cut) in_cut[tid].push_back(m);
        }
    });
    std::vector<float> mags;
    for (auto& part : in_cut) mags.insert(mags.end(), part.begin(), part.end());
    const int64_t rank = keep_off - above;  // 1-based, within the cut bucket
    std::nth_element(mags.begin(), mags.begin() + (rank - 1), mags.end(), std::greater<float>());
    threshold = mags[rank - 1];
    for (float m : mags) above += m > threshold;
    ties = keep_off - above;
  }
  std::vector<int64_t> greater(n, 0), equal(n, 0);
  parallel_chunks(n, 256, threads, [&](int64_t b, int64_t e, int) {
    for (int64_t j = b; j < e; ++j)
      for (int64_t t = 1; t < src.count(j); ++t) {
        const float m = std::fabs(src.value(j, t));
        greater[j] += m > threshold;
        equal[j] += m == threshold;
      }
  });
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
        const float v = src.value(j, t), m = std::fabs(v);
        if (!(m > threshold || (m == threshold && tie_room-- > 0))) continue;
        out.indices[q] = src.row(j, t);
        out.values[q++] = v;
      }
    }
  });
  return out;
}

}  // namespace cfkit
