// X with its items relabelled to their positions in a factor ordering, the strictly lower part of a
// column of its Gramian computed from it, and bounds on the Gramian's absolute column sums. Shared
// by the ICF factorizer and the CHOLMOD factorizer's float32 supernodal step.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "sparse/csr.hpp"

namespace cfkit {

// Where row u's entries after column j begin, in X by rows with each row's indices increasing.
inline int64_t row_tail(const Csr& by_rows, int64_t u, int64_t j) {
  const auto first = by_rows.indices.begin() + by_rows.indptr[u], last = by_rows.indices.begin() + by_rows.indptr[u + 1];
  return static_cast<int64_t>(std::upper_bound(first, last, static_cast<int32_t>(j)) - by_rows.indices.begin());
}

// One Gramian column at a time, in a dense accumulator over the n items with the rows it touched
// listed; drain() visits those rows and leaves the accumulator zero for the next column.
struct GramAccumulator {
  std::vector<double> acc;
  std::vector<uint8_t> mark;
  std::vector<int32_t> touched;
  explicit GramAccumulator(int64_t n) : acc(n, 0.0), mark(n, 0) {}
  void add(int32_t i, double v) {
    acc[i] += v;
    if (!mark[i]) {
      mark[i] = 1;
      touched.push_back(i);
    }
  }
  template <class Visit>
  void drain(Visit&& visit) {
    for (int32_t i : touched) {
      visit(i, acc[i]);
      acc[i] = 0.0;
      mark[i] = 0;
    }
    touched.clear();
  }
};

// The strictly lower part of column j of XᵀX (of the scaled Gramian, s_i·G_ij·s_j, when `scale`
// is given) into g, which must be drained, from X by rows and by columns; only the tails of the
// rows after j are read. Users are taken in increasing order, as for a whole column, so every
// entry is summed in the same order.
inline void lower_gram_column(const Csr& by_rows, const Csr& by_cols, int64_t j, const double* scale, GramAccumulator& g) {
  const double sj = scale ? scale[j] : 1.0;
  for (int64_t p = by_cols.indptr[j]; p < by_cols.indptr[j + 1]; ++p) {
    const int64_t u = by_cols.indices[p];
    const double xuj = double(by_cols.values[p]) * sj;
    for (int64_t q = row_tail(by_rows, u, j); q < by_rows.indptr[u + 1]; ++q) {
      const int32_t i = by_rows.indices[q];
      g.add(i, xuj * double(by_rows.values[q]) * (scale ? scale[i] : 1.0));
    }
  }
}

// X with its items relabelled to their positions in the ordering, by rows (each row's positions
// increasing) and by columns, with the column scaling (when given) in the same order. Row u's entries after
// position j are then a contiguous tail, so the strictly lower part of a Gramian column is
// computed without touching its upper part.
struct PermutedX {
  Csr rows, cols;
  std::vector<double> scale;
  PermutedX(const Csr& xt, const std::vector<double>& item_scale, const std::vector<int64_t>& perm) {
    const int64_t n = static_cast<int64_t>(perm.size());
    cols.rows = n;
    cols.cols = xt.cols;
    cols.indptr.assign(n + 1, 0);
    for (int64_t j = 0; j < n; ++j) cols.indptr[j + 1] = cols.indptr[j] + xt.row_size(perm[j]);
    cols.indices.reserve(cols.indptr[n]);
    cols.values.reserve(cols.indptr[n]);
    if (!item_scale.empty()) scale.resize(n);
    for (int64_t j = 0; j < n; ++j) {
      const int64_t c = perm[j];
      cols.indices.insert(cols.indices.end(), xt.indices.begin() + xt.indptr[c], xt.indices.begin() + xt.indptr[c + 1]);
      cols.values.insert(cols.values.end(), xt.values.begin() + xt.indptr[c], xt.values.begin() + xt.indptr[c + 1]);
      if (!item_scale.empty()) scale[j] = item_scale[c];
    }
    rows = transpose(cols);
  }
};

// For every column j, Σ_u |x_uj|·Σ_k |x_uk|: at least Σ_i |(XᵀX)_ij|, from X in O(nnz). It bounds
// every Gramian entry (and sum) exactness needs, and the Gramian's largest eigenvalue (Gershgorin).
inline std::vector<double> gram_abs_column_sum_bounds(const Csr& x) {
  std::vector<double> row_l1(x.rows, 0.0), bound(x.cols, 0.0);
  for (int64_t u = 0; u < x.rows; ++u)
    for (int64_t p = x.indptr[u]; p < x.indptr[u + 1]; ++p) row_l1[u] += std::fabs(double(x.values[p]));
  for (int64_t u = 0; u < x.rows; ++u)
    for (int64_t p = x.indptr[u]; p < x.indptr[u + 1]; ++p) bound[x.indices[p]] += std::fabs(double(x.values[p])) * row_l1[u];
  return bound;
}

}  // namespace cfkit
