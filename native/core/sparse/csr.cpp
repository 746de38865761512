#include "sparse/csr.hpp"

#include <cmath>
#include <string>

#include "common/error.hpp"

namespace cfkit {

void Csr::validate(const char* what) const {
  // Messages are built only on failure: this runs over every entry of every matrix from JS.
  auto bad = [what](const std::string& why) { fail(ErrorCode::Input, std::string(what) + ": " + why); };
  if (rows < 0 || cols < 0) bad("negative shape");
  if (cols > INT32_MAX) bad("too many columns for int32 indices");
  if (static_cast<int64_t>(indptr.size()) != rows + 1) bad("indptr must have rows + 1 entries");
  if (indptr[0] != 0) bad("indptr[0] must be 0");
  int64_t nz = indptr.back();
  if (static_cast<int64_t>(indices.size()) != nz || static_cast<int64_t>(values.size()) != nz)
    bad("indices/values length must equal indptr[rows]");
  for (int64_t r = 0; r < rows; ++r) {
    int64_t b = indptr[r], e = indptr[r + 1];
    if (b > e || e > nz) bad("indptr is not monotone at row " + std::to_string(r));
    for (int64_t p = b; p < e; ++p) {
      int32_t c = indices[p];
      if (c < 0 || c >= cols) bad("column index " + std::to_string(c) + " out of range at row " + std::to_string(r));
      if (p > b && indices[p - 1] >= c) bad("column indices must be sorted and unique in row " + std::to_string(r));
      if (!std::isfinite(values[p])) bad("non-finite value at row " + std::to_string(r));
    }
  }
}

Csr Csr::slice_rows(int64_t begin, int64_t end) const {
  Csr out;
  out.rows = end - begin;
  out.cols = cols;
  out.indptr.resize(out.rows + 1);
  int64_t base = indptr[begin];
  for (int64_t r = 0; r <= out.rows; ++r) out.indptr[r] = indptr[begin + r] - base;
  out.indices.assign(indices.begin() + base, indices.begin() + indptr[end]);
  out.values.assign(values.begin() + base, values.begin() + indptr[end]);
  return out;
}

Csr make_csr(int64_t rows, int64_t cols, const int32_t* indptr32, const int32_t* indices, const float* values,
             int64_t nnz) {
  Csr m;
  m.rows = rows;
  m.cols = cols;
  m.indptr.assign(indptr32, indptr32 + rows + 1);
  m.indices.assign(indices, indices + nnz);
  if (values)
    m.values.assign(values, values + nnz);
  else
    m.values.assign(nnz, 1.0f);
  return m;
}

Csr one_hot_rows(int64_t cols, const std::vector<int32_t>& items) {
  Csr q;
  q.rows = static_cast<int64_t>(items.size());
  q.cols = cols;
  q.indptr.resize(items.size() + 1);
  for (int64_t r = 0; r <= q.rows; ++r) q.indptr[r] = r;
  q.indices = items;
  q.values.assign(items.size(), 1.f);
  return q;
}

Csr transpose(const Csr& a) {
  Csr t;
  t.rows = a.cols;
  t.cols = a.rows;
  t.indptr.assign(t.rows + 1, 0);
  for (int32_t c : a.indices) t.indptr[c + 1]++;
  for (int64_t r = 0; r < t.rows; ++r) t.indptr[r + 1] += t.indptr[r];
  t.indices.resize(a.nnz());
  t.values.resize(a.nnz());
  std::vector<int64_t> next(t.indptr.begin(), t.indptr.end() - 1);
  for (int64_t r = 0; r < a.rows; ++r) {
    for (int64_t p = a.indptr[r]; p < a.indptr[r + 1]; ++p) {
      int64_t q = next[a.indices[p]]++;
      t.indices[q] = static_cast<int32_t>(r);
      t.values[q] = a.values[p];
    }
  }
  return t;
}

}  // namespace cfkit
