// Right-looking blocked Cholesky A = L·Lᵀ (lower, column-major) written once against three panel
// operations, so the same loop drives cuBLAS on the GPU (with our small-block kernel) and the system
// BLAS in the C++ tests, where it is checked against LAPACK's potrf.
#pragma once
#include <algorithm>
#include <cstdint>

namespace cfkit {

// Ops must provide, for column-major blocks with leading dimension lda:
//   int  potrf_small(int nb, T* a, int lda)                  — factor a diagonal block in place; 0 or
//                                                               the 1-based column that broke down
//   void trsm_panel(int m, int nb, const T* l, T* b, int lda) — b (m x nb) ← b·l⁻ᵀ, l lower nb x nb
//   void syrk_update(int m, int nb, const T* a, T* c, int lda) — lower(c) ← lower(c) − a·aᵀ, a m x nb
// Returns 0, or the 1-based column where A is not positive definite.
template <class T, class Ops>
int blocked_cholesky(Ops& ops, int n, T* a, int lda, int nb) {
  for (int j = 0; j < n; j += nb) {
    const int jb = std::min(nb, n - j);
    T* diag = a + j + int64_t(j) * lda;
    const int info = ops.potrf_small(jb, diag, lda);
    if (info != 0) return j + info;
    const int rest = n - j - jb;
    if (rest == 0) break;
    T* panel = diag + jb;
    ops.trsm_panel(rest, jb, diag, panel, lda);
    ops.syrk_update(rest, jb, panel, panel + int64_t(jb) * lda, lda);
  }
  return 0;
}

}  // namespace cfkit
