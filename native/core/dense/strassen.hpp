// C −= A·Bᵀ in float32 with one level of Strassen's algorithm when the product is large enough to
// repay its matrix additions, else by the BLAS. Strassen forms 7 half-size products instead of 8,
// so 1/8 of the multiply-adds go, in exchange for 18 additions of half-size blocks (memory-bound),
// and a normwise error bound a small constant factor above the classical one. On a 2-core AMD EPYC
// VM (OpenBLAS sgemm at ~215 GFLOP/s) a 26,145-column Cholesky whose largest updates go through it
// took 28.2-28.6 s against 28.9-29.0 s for 512-column tiles (once its workspace was resident), with
// entries within 6e-5 of the classical result (largest 89). Used only by the float32 supernodal
// factorization, whose factor sparsification then mostly drops.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>

#include "common/zeroed_pages.hpp"

namespace cfkit {

// Scratch for the half-size operand sums and product: grown on demand, kept between calls, so a
// factorization faults its pages in once.
class StrassenWorkspace {
 public:
  // `count` zero-initialised-once floats; contents persist between calls (the product buffer is
  // left zero by subtract_product).
  float* floats(size_t count, int threads);

 private:
  ZeroedArray<float> data_;
  size_t capacity_ = 0;
};

struct ProductPlan {
  // All three dimensions at least this for Strassen: the additions cost memory traffic in
  // proportion to the blocks, the saving grows with the product. On a synthetic 26,145-column
  // Cholesky on the AMD EPYC VM, 3,072 was no better than 4,096 within its run-to-run noise.
  int64_t strassen_min = 4096;
};

// C (m x n, leading dimension ldc) −= A·Bᵀ for A m x k and B n x k, column-major. `after_part`, when
// set, runs after each of Strassen's 7 products (progress and abort between multi-second BLAS calls).
// Results depend only on the dimensions and plan, not on the thread count.
void subtract_product(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb, float* c,
                      int64_t ldc, const ProductPlan& plan, StrassenWorkspace& work, int threads,
                      const std::function<void()>& after_part = nullptr);

}  // namespace cfkit
