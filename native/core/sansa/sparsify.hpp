#pragma once
#include <cstdint>

#include "sparse/csr.hpp"

namespace cfkit {

// Global magnitude sparsification of a matrix stored by columns (rows of `cols` are the matrix's
// columns) whose first entry in every column is the diagonal. All diagonals are kept; of the rest,
// exactly max(0, target_nnz − n) entries with the largest |value| survive, ties going to the lower
// (column, row), so the count is exact and the result deterministic.
void sparsify_keep_diagonal(Csr& cols, int64_t target_nnz);

}  // namespace cfkit
