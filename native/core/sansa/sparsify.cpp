#include "sansa/sparsify.hpp"

#include <cmath>

namespace cfkit {

void sparsify_keep_diagonal(Csr& cols, int64_t target_nnz, int threads) {
  if (target_nnz >= cols.nnz()) return;
  const int64_t width = cols.cols;
  cols = sparsify_columns(sparsify_detail::CsrColumns{cols}, cols.rows, target_nnz, threads);
  cols.cols = width;
}

}  // namespace cfkit
