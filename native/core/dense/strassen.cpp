#include "dense/strassen.hpp"

#include <algorithm>

#include "common/parallel.hpp"
#include "dense/lapack.hpp"

namespace cfkit {

float* StrassenWorkspace::floats(size_t count, int threads) {
  if (count > capacity_) {
    data_.reset();
    data_ = map_zeroed<float>(count);
    capacity_ = count;
    // Made resident up front on every thread, rather than by a fault per page inside the additions.
    float* base = data_.get();
    parallel_ranges(static_cast<int64_t>(count), threads, [&](int64_t b, int64_t e, int) { populate(base + b, base + e); });
  }
  return data_.get();
}

namespace {

// A column-major block: `rows` x `cols` at `p` with leading dimension `ld`.
struct Block {
  const float* p;
  int64_t ld;
};

// d = x + sign·y, all rows x cols.
void add_blocks(int64_t rows, int64_t cols, Block x, float sign, Block y, float* d, int64_t ldd, int threads) {
  parallel_ranges(cols, threads, [&](int64_t b, int64_t e, int) {
    for (int64_t j = b; j < e; ++j) {
      const float* xj = x.p + j * x.ld;
      const float* yj = y.p + j * y.ld;
      float* dj = d + j * ldd;
      for (int64_t i = 0; i < rows; ++i) dj[i] = xj[i] + sign * yj[i];
    }
  });
}

// ca += t, cb += sign_b·t, then t = 0 (the next product accumulates into it).
void spread(int64_t rows, int64_t cols, float* t, float* ca, float* cb, float sign_b, int64_t ldc, int threads) {
  parallel_ranges(cols, threads, [&](int64_t b, int64_t e, int) {
    for (int64_t j = b; j < e; ++j) {
      float* tj = t + j * rows;
      float* aj = ca + j * ldc;
      float* bj = cb + j * ldc;
      for (int64_t i = 0; i < rows; ++i) {
        const float v = tj[i];
        aj[i] += v;
        bj[i] += sign_b * v;
        tj[i] = 0.f;
      }
    }
  });
}

}  // namespace

void subtract_product(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb, float* c,
                      int64_t ldc, const ProductPlan& plan, StrassenWorkspace& work, int threads,
                      const std::function<void()>& after_part) {
  if (m <= 0 || n <= 0) return;
  if (std::min({m, n, k}) < plan.strassen_min) {
    lapack::gemm_nt(m, n, k, -1.f, a, lda, b, ldb, 1.f, c, ldc, threads);
    if (after_part) after_part();
    return;
  }
  // Quarters of whole multiples of 16 rows; the odd remainders are peeled off to the BLAS below.
  const int64_t mq = (m / 2) & ~int64_t(15), nq = (n / 2) & ~int64_t(15), kq = (k / 2) & ~int64_t(15);
  float* t = work.floats(size_t(mq * nq + mq * kq + nq * kq), threads);  // zero on entry, left zero
  float* sa = t + mq * nq;
  float* sb = sa + mq * kq;
  const Block a11{a, lda}, a21{a + mq, lda}, a12{a + kq * lda, lda}, a22{a + mq + kq * lda, lda};
  // With B' = Bᵀ: B'11 = B11ᵀ, B'12 = B21ᵀ, B'21 = B12ᵀ, B'22 = B22ᵀ in B's own quarters.
  const Block b11{b, ldb}, b21{b + nq, ldb}, b12{b + kq * ldb, ldb}, b22{b + nq + kq * ldb, ldb};
  float *c11 = c, *c21 = c + mq, *c12 = c + nq * ldc, *c22 = c + mq + nq * ldc;
  auto product = [&](Block x, Block y, float* out, int64_t ldo) {
    lapack::gemm_nt(mq, nq, kq, -1.f, x.p, x.ld, y.p, y.ld, 1.f, out, ldo, threads);
    if (after_part) after_part();
  };
  const Block sa_block{sa, mq}, sb_block{sb, nq};
  // Strassen's products M1..M7 of A·B'; each is subtracted from the quarters of C it belongs to:
  // C11 −= M1 + M4 − M5 + M7, C12 −= M3 + M5, C21 −= M2 + M4, C22 −= M1 − M2 + M3 + M6.
  // Those that reach one quarter go straight into it; the others go into t (t = −M) first.
  add_blocks(mq, kq, a12, -1.f, a22, sa, mq, threads);  // M7 = (A12 − A22)(B'21 + B'22)
  add_blocks(nq, kq, b12, 1.f, b22, sb, nq, threads);
  product(sa_block, sb_block, c11, ldc);
  add_blocks(mq, kq, a21, -1.f, a11, sa, mq, threads);  // M6 = (A21 − A11)(B'11 + B'12)
  add_blocks(nq, kq, b11, 1.f, b21, sb, nq, threads);
  product(sa_block, sb_block, c22, ldc);
  add_blocks(mq, kq, a11, 1.f, a22, sa, mq, threads);  // M1 = (A11 + A22)(B'11 + B'22)
  add_blocks(nq, kq, b11, 1.f, b22, sb, nq, threads);
  product(sa_block, sb_block, t, mq);
  spread(mq, nq, t, c11, c22, 1.f, ldc, threads);
  add_blocks(mq, kq, a21, 1.f, a22, sa, mq, threads);  // M2 = (A21 + A22)·B'11
  product(sa_block, b11, t, mq);
  spread(mq, nq, t, c21, c22, -1.f, ldc, threads);
  add_blocks(nq, kq, b21, -1.f, b22, sb, nq, threads);  // M3 = A11·(B'12 − B'22)
  product(a11, sb_block, t, mq);
  spread(mq, nq, t, c12, c22, 1.f, ldc, threads);
  add_blocks(nq, kq, b12, -1.f, b11, sb, nq, threads);  // M4 = A22·(B'21 − B'11)
  product(a22, sb_block, t, mq);
  spread(mq, nq, t, c11, c21, 1.f, ldc, threads);
  add_blocks(mq, kq, a11, 1.f, a12, sa, mq, threads);  // M5 = (A11 + A12)·B'22
  product(sa_block, b22, t, mq);
  spread(mq, nq, t, c12, c11, -1.f, ldc, threads);

  // The peeled remainders: the inner dimension's last columns, then C's last rows and columns.
  if (2 * kq < k) lapack::gemm_nt(2 * mq, 2 * nq, k - 2 * kq, -1.f, a + 2 * kq * lda, lda, b + 2 * kq * ldb, ldb, 1.f, c, ldc, threads);
  if (2 * mq < m) lapack::gemm_nt(m - 2 * mq, n, k, -1.f, a + 2 * mq, lda, b, ldb, 1.f, c + 2 * mq, ldc, threads);
  if (2 * nq < n) lapack::gemm_nt(2 * mq, n - 2 * nq, k, -1.f, a, lda, b + 2 * nq, ldb, 1.f, c + 2 * nq * ldc, ldc, threads);
}

}  // namespace cfkit
