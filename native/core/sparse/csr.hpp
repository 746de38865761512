// The one compressed-sparse-row type used by every model: rows are users (or items for transposes),
// int64 row pointers so large products never overflow, int32 column indices, float32 values.
#pragma once
#include <cstdint>
#include <vector>

namespace cfkit {

struct Csr {
  int64_t rows = 0;
  int64_t cols = 0;
  std::vector<int64_t> indptr;   // rows + 1
  std::vector<int32_t> indices;  // nnz, sorted and unique within each row
  std::vector<float> values;     // nnz

  int64_t nnz() const { return indptr.empty() ? 0 : indptr.back(); }
  int64_t row_size(int64_t r) const { return indptr[r + 1] - indptr[r]; }

  // Throws E_INPUT unless the arrays form a valid matrix: monotone pointers, in-range sorted unique
  // indices, finite values.
  void validate(const char* what) const;

  // A copy of rows [begin, end).
  Csr slice_rows(int64_t begin, int64_t end) const;
};

Csr make_csr(int64_t rows, int64_t cols, const int32_t* indptr32, const int32_t* indices, const float* values,
             int64_t nnz);
Csr transpose(const Csr& a);
// One row per item, holding only that item with value 1: the inputs of "items like this one".
Csr one_hot_rows(int64_t cols, const std::vector<int32_t>& items);

}  // namespace cfkit
