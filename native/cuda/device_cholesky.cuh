// The blocked Cholesky's panel operations on the GPU (dense/blocked_cholesky.hpp drives them): our
// shared-memory kernel for the diagonal blocks, cuBLAS trsm/syrk for the panels. Float for ∞-AE's
// kernel matrix, double for DISTILL-CF's small synthetic kernel.
#pragma once
#include <cuda_runtime.h>

#include "../core/dense/blocked_cholesky.hpp"
#include "device_util.hpp"

namespace cfkit {
namespace cuda {

constexpr int kCholeskyPanel = 64;  // diagonal blocks of 64 x 64: 16 KiB (float) or 32 KiB (double) of shared memory

namespace {

// Unblocked right-looking Cholesky of one nb x nb diagonal block (nb <= kCholeskyPanel) in shared
// memory, by one thread block. *info gets the 1-based column of a breakdown, or stays 0.
template <class T>
__global__ void potrf_small_kernel(int nb, T* a, int lda, int* info) {
  __shared__ T s[kCholeskyPanel * kCholeskyPanel];
  __shared__ int broken;
  const int tid = threadIdx.x, threads = blockDim.x;
  for (int t = tid; t < nb * nb; t += threads) {
    const int i = t % nb, j = t / nb;
    s[i + j * nb] = i >= j ? a[i + int64_t(j) * lda] : T(0);
  }
  if (tid == 0) broken = 0;
  __syncthreads();
  for (int k = 0; k < nb; ++k) {
    if (tid == 0) {
      const T d = s[k + k * nb];
      if (!(d > T(0)) || !isfinite(d)) {
        broken = k + 1;
      } else {
        s[k + k * nb] = sqrt(d);
      }
    }
    __syncthreads();
    if (broken) {
      if (tid == 0) *info = broken;
      return;
    }
    const T inv = T(1) / s[k + k * nb];
    for (int i = k + 1 + tid; i < nb; i += threads) s[i + k * nb] *= inv;
    __syncthreads();
    const int w = nb - k - 1;
    for (int t = tid; t < w * w; t += threads) {
      const int i = k + 1 + t % w, j = k + 1 + t / w;
      if (i >= j) s[i + j * nb] -= s[i + k * nb] * s[j + k * nb];
    }
    __syncthreads();
  }
  for (int t = tid; t < nb * nb; t += threads) {
    const int i = t % nb, j = t / nb;
    if (i >= j) a[i + int64_t(j) * lda] = s[i + j * nb];
  }
}

// cuBLAS enum values (cublas_api.h), spelled out since the header is not used.
enum { kBlasSideLeft = 0, kBlasSideRight = 1, kBlasLower = 0, kBlasOpN = 0, kBlasOpT = 1, kBlasNonUnit = 0 };

inline int blas_trsm(const BlasHandle& b, int side, int trans, int m, int n, const float* alpha, const float* a, int lda,
                     float* x, int ldx) {
  return b.api->strsm(b.h, side, kBlasLower, trans, kBlasNonUnit, m, n, alpha, a, lda, x, ldx);
}
inline int blas_trsm(const BlasHandle& b, int side, int trans, int m, int n, const double* alpha, const double* a, int lda,
                     double* x, int ldx) {
  return b.api->dtrsm(b.h, side, kBlasLower, trans, kBlasNonUnit, m, n, alpha, a, lda, x, ldx);
}
inline int blas_syrk_lower(const BlasHandle& b, int n, int k, const float* alpha, const float* a, int lda, const float* beta,
                           float* c, int ldc) {
  return b.api->ssyrk(b.h, kBlasLower, kBlasOpN, n, k, alpha, a, lda, beta, c, ldc);
}
inline int blas_syrk_lower(const BlasHandle& b, int n, int k, const double* alpha, const double* a, int lda, const double* beta,
                           double* c, int ldc) {
  return b.api->dsyrk(b.h, kBlasLower, kBlasOpN, n, k, alpha, a, lda, beta, c, ldc);
}

template <class T>
struct DevicePanelOps {
  const BlasHandle& blas;
  int* d_info;
  int potrf_small(int nb, T* a, int lda) {
    check(cudaMemset(d_info, 0, sizeof(int)), "cudaMemset");
    potrf_small_kernel<T><<<1, 256>>>(nb, a, lda, d_info);
    check(cudaGetLastError(), "diagonal block kernel");
    int info = 0;
    check(cudaMemcpy(&info, d_info, sizeof(int), cudaMemcpyDeviceToHost), "diagonal block kernel");
    return info;
  }
  void trsm_panel(int m, int nb, const T* l, T* b, int lda) {
    const T one = 1;
    check_blas(blas_trsm(blas, kBlasSideRight, kBlasOpT, m, nb, &one, l, lda, b, lda), "cublas trsm (panel)");
  }
  void syrk_update(int m, int nb, const T* a, T* c, int lda) {
    const T minus_one = -1, one = 1;
    check_blas(blas_syrk_lower(blas, m, nb, &minus_one, a, lda, &one, c, lda), "cublas syrk (update)");
  }
};

}  // namespace

// Lower Cholesky of the n x n column-major a in place; 0, or the 1-based column that broke down.
// d_info is one int of device memory.
template <class T>
int device_cholesky(const BlasHandle& blas, int n, T* a, int lda, int* d_info) {
  DevicePanelOps<T> ops{blas, d_info};
  return cfkit::blocked_cholesky(ops, n, a, lda, kCholeskyPanel);
}

}  // namespace cuda
}  // namespace cfkit
