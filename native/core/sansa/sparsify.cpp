#include "sansa/sparsify.hpp"

#include <cmath>

namespace cfkit {

namespace {
struct CsrColumns {
  const Csr& c;
  int64_t count(int64_t j) const { return c.indptr[j + 1] - c.indptr[j]; }
  int32_t row(int64_t j, int64_t t) const { return c.indices[c.indptr[j] + t]; }
  float value(int64_t j, int64_t t) const { return c.values[c.indptr[j] + t]; }
  float rank(int64_t j, int64_t t) const { return std::fabs(value(j, t)); }
};
}  // namespace

void sparsify_keep_diagonal(Csr& cols, int64_t target_nnz, int threads) {
  if (target_nnz >= cols.nnz()) return;
  const int64_t width = cols.cols;
  cols = sparsify_columns(CsrColumns{cols}, cols.rows, target_nnz, threads);
  cols.cols = width;
}

}  // namespace cfkit
