#include "dense/trapezoid_cholesky.hpp"

#include <algorithm>

#include "dense/lapack.hpp"

namespace cfkit {

TrapezoidCholesky::TrapezoidCholesky(int threads, TrapezoidPlan plan)
    : threads_(threads), plan_(plan), tile_inverse_(size_t(plan.tile) * size_t(plan.tile)) {}

bool TrapezoidCholesky::factor(float* a, int64_t ncol, int64_t nrow, int64_t ld, const std::function<void(double)>& progress) {
  progress_ = &progress;
  done_ = 0;
  // Multiply-adds: ncol³/6 for the square, ncol²/2 for each row below it.
  total_ = std::max(1.0, double(ncol) * double(ncol) * double(ncol) / 6 + double(nrow - ncol) * double(ncol) * double(ncol) / 2);
  return factor_columns(a, ncol, nrow, ld);
}

void TrapezoidCholesky::account(double multiply_adds) {
  done_ += multiply_adds;
  if (*progress_) (*progress_)(std::min(1.0, done_ / total_));
}

// The first ncol columns of an nrow-row trapezoid: its left half, then the right half's update by
// it, then the right half.
bool TrapezoidCholesky::factor_columns(float* a, int64_t ncol, int64_t nrow, int64_t ld) {
  const int64_t below = nrow - ncol;
  if (ncol <= plan_.tile) {
    {
      lapack::BlasThreadsScope serial(1);  // OpenBLAS's threaded potrf blocks by thread count
      if (lapack::potrf_lower(ncol, a, ld) != 0) return false;
      if (below > 0) {
        float* inv = tile_inverse_.data();
        for (int64_t j = 0; j < ncol; ++j) std::copy(a + j * ld + j, a + j * ld + ncol, inv + j * ncol + j);
        if (lapack::trtri_lower(ncol, inv, ncol) != 0) return false;
      }
    }
    lapack::trmm_right_lower_trans(below, ncol, tile_inverse_.data(), ncol, a + ncol, ld, threads_);
    account(double(ncol) * ncol * ncol / 6 + double(below) * ncol * ncol / 2);
    return true;
  }
  // A whole number of leaves on the left, and fewer columns than ncol.
  const int64_t left = (ncol / 2 + plan_.tile - 1) / plan_.tile * plan_.tile, right = ncol - left;
  if (!factor_columns(a, left, nrow, ld)) return false;
  const float* l = a + left;  // the left half's rows from `left` on: right square rows, then below
  float* trailing = a + left * ld + left;
  update_lower(right, left, l, ld, trailing);
  subtract(below, right, left, l + right, l, ld, trailing + right);
  return factor_columns(trailing, right, nrow - left, ld);
}

// Lower part of the n x n block c −= l·lᵀ, for l n x k.
void TrapezoidCholesky::update_lower(int64_t n, int64_t k, const float* l, int64_t ld, float* c) {
  if (n <= plan_.syrk_leaf) {
    lapack::syrk_lower(n, k, -1.f, l, ld, 1.f, c, ld, threads_);
    account(double(n) * n * k / 2);
    return;
  }
  const int64_t top = (n / 2 + plan_.tile - 1) / plan_.tile * plan_.tile;
  update_lower(top, k, l, ld, c);
  subtract(n - top, top, k, l + top, l, ld, c + top);
  update_lower(n - top, k, l + top, ld, c + top * ld + top);
}

// c (m x n) −= x·yᵀ, all with leading dimension ld.
void TrapezoidCholesky::subtract(int64_t m, int64_t n, int64_t k, const float* x, const float* y, int64_t ld, float* c) {
  subtract_product(m, n, k, x, ld, y, ld, c, ld, plan_.product, strassen_, threads_, [&] { account(0); });
  account(double(m) * n * k);
}

}  // namespace cfkit
