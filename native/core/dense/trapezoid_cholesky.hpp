// Cholesky of a float32 column-major trapezoid (a supernode of the single-precision factorization):
// L of its top ncol x ncol square, and the rows below solved against it, in place. Recursive by
// halves of the columns, so that most of the work is a few large products, which go through
// subtract_product (dense/strassen.hpp) and so through Strassen's algorithm where they are large.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "dense/strassen.hpp"

namespace cfkit {

struct TrapezoidPlan {
  // Columns factored by LAPACK at the leaves. The rows below a leaf are solved by multiplying with
  // the leaf's inverse (strtri + strmm) rather than by strsm: strmm ran at ~195 GFLOP/s against
  // ~150 on a 2-core AMD EPYC VM (20,000 x 512). The leaf is the Cholesky factor of an SPD block
  // of a matrix whose condition the float32 path already bounds, so the inverse is accurate to a
  // few float32 ulps times its condition, the square root of the block's.
  int64_t tile = 512;
  // Diagonal blocks at most this wide are updated by one syrk; wider ones are split, which bounds
  // the time between progress reports (a 4,096-wide syrk of rank 13,000 is 0.2 TFLOP, about a
  // second at the AMD EPYC VM's BLAS rate).
  int64_t syrk_leaf = 4096;
  ProductPlan product;
};

class TrapezoidCholesky {
 public:
  // `threads` run the products (dense/lapack.hpp's tiles) and Strassen's additions.
  explicit TrapezoidCholesky(int threads, TrapezoidPlan plan = {});

  // Factors the nrow x ncol trapezoid at `a` (leading dimension ld, nrow ≥ ncol) in place. Only the
  // lower part of the square is read or written. `progress(f)` runs between BLAS calls with the
  // fraction f of the trapezoid's work done; it may throw to abort. Returns false at a
  // non-positive pivot. Results depend on the plan and shape, not on the thread count.
  bool factor(float* a, int64_t ncol, int64_t nrow, int64_t ld, const std::function<void(double)>& progress);

 private:
  bool factor_columns(float* a, int64_t ncol, int64_t nrow, int64_t ld);
  void update_lower(int64_t n, int64_t k, const float* l, int64_t ld, float* c);
  void subtract(int64_t m, int64_t n, int64_t k, const float* x, const float* y, int64_t ld, float* c);
  void account(double multiply_adds);

  int threads_;
  TrapezoidPlan plan_;
  std::vector<float> tile_inverse_;
  StrassenWorkspace strassen_;
  const std::function<void(double)>* progress_ = nullptr;
  double done_ = 0, total_ = 1;
};

}  // namespace cfkit
