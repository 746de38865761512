// ∞-AE's closed form on the GPU. Everything is column-major as cuBLAS sees it: the dense support
// matrix X (users x items, leading dimension users) and the kernel K (users x users, lower triangle).
// The blocked Cholesky loop is the one the C++ tests check against LAPACK (dense/blocked_cholesky.hpp);
// its panel operations on the GPU are in device_cholesky.cuh.
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdint>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "cublas_loader.hpp"
#include "cuda_api.h"
#include "device_cholesky.cuh"
#include "device_util.hpp"
#include "infae_kernels.cuh"

namespace {

using cfkit::cuda::BlasHandle;
using cfkit::cuda::check;
using cfkit::cuda::check_blas;
using cfkit::cuda::CublasApi;
using cfkit::cuda::densify_rows;
using cfkit::cuda::device_cholesky;
using cfkit::cuda::DeviceBuffer;
using cfkit::cuda::Failure;
using cfkit::cuda::grid_for;
using cfkit::cuda::kBlasLower;
using cfkit::cuda::kBlasNonUnit;
using cfkit::cuda::kBlasOpN;
using cfkit::cuda::kBlasOpT;
using cfkit::cuda::kBlasSideLeft;
using cfkit::cuda::ntk_value;
using cfkit::cuda::seconds_since;

// c[u] = 2·K_uu/items + 0.01 (the NTK's self term) from the Gram diagonal.
__global__ void ntk_self(int64_t n, const float* k, double inv_items, double* c) {
  for (int64_t u = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; u < n; u += int64_t(gridDim.x) * blockDim.x)
    c[u] = 2.0 * double(k[u + u * n]) * inv_items + 0.01;
}

// The NTK in place on the lower triangle: one block per column j, threads over the rows i >= j.
__global__ void ntk_lower(int64_t n, float* k, const double* c, double inv_items) {
  for (int64_t j = blockIdx.x; j < n; j += gridDim.x)
    for (int64_t i = j + threadIdx.x; i < n; i += blockDim.x) k[i + j * n] = ntk_value(k[i + j * n], c[i], c[j], inv_items);
}

__global__ void copy_diagonal(int64_t n, const float* k, float* d) {
  for (int64_t u = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; u < n; u += int64_t(gridDim.x) * blockDim.x)
    d[u] = k[u + u * n];
}

__global__ void add_diagonal(int64_t n, float* k, float reg) {
  for (int64_t u = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; u < n; u += int64_t(gridDim.x) * blockDim.x)
    k[u + u * n] += reg;
}

int solve(const cfkit_cuda_infae_input& in, cfkit_cuda_infae_output& out) {
  const CublasApi* api = cfkit::cuda::cublas();
  if (!api) throw Failure{"cuBLAS is not loaded"};
  const int64_t n = in.users, m = in.items, nnz = in.indptr[n];
  if (n > INT32_MAX || m > INT32_MAX) throw Failure{"∞-AE on the GPU: dimensions exceed cuBLAS's 32-bit interface"};
  size_t free_bytes = 0, total_bytes = 0;
  check(cudaMemGetInfo(&free_bytes, &total_bytes), "cudaMemGetInfo");
  const double needed = 4.0 * double(n) * double(n) + 4.0 * double(n) * double(m) + 16.0 * double(nnz) + 24.0 * double(n);
  if (needed > 0.95 * double(free_bytes))
    throw Failure{"∞-AE on the GPU needs about " + std::to_string(int64_t(needed)) + " bytes of device memory but " +
                  std::to_string(free_bytes) + " are free; sample fewer supportUsers or use device: 'cpu'"};
  BlasHandle blas(api);
  DeviceBuffer<float> k(size_t(n) * n, "cudaMalloc(kernel)"), x(size_t(n) * m, "cudaMalloc(support)");
  DeviceBuffer<double> c(n, "cudaMalloc");
  DeviceBuffer<float> diag(n, "cudaMalloc");
  DeviceBuffer<int> d_info(1, "cudaMalloc");
  densify_rows(n, m, in.indptr, in.indices, in.values, x.p);
  auto t0 = std::chrono::steady_clock::now();
  const float one = 1.f, zero = 0.f;
  check_blas(api->ssyrk(blas.h, kBlasLower, kBlasOpN, int(n), int(m), &one, x.p, int(n), &zero, k.p, int(n)), "cublasSsyrk (Gram)");
  check(cudaDeviceSynchronize(), "Gram");
  out.seconds_gram = seconds_since(t0);

  t0 = std::chrono::steady_clock::now();
  const double inv_items = 1.0 / double(m);
  ntk_self<<<grid_for(n, 256), 256>>>(n, k.p, inv_items, c.p);
  ntk_lower<<<grid_for(n, 1), 256>>>(n, k.p, c.p, inv_items);
  copy_diagonal<<<grid_for(n, 256), 256>>>(n, k.p, diag.p);
  check(cudaGetLastError(), "NTK kernel");
  std::vector<float> d(n);
  check(cudaMemcpy(d.data(), diag.p, sizeof(float) * n, cudaMemcpyDeviceToHost), "NTK kernel");
  double trace = 0;
  for (float v : d) trace += v;
  add_diagonal<<<grid_for(n, 256), 256>>>(n, k.p, float(std::fabs(in.lambda) * trace / double(n)));
  check(cudaGetLastError(), "ridge");
  check(cudaDeviceSynchronize(), "NTK kernel");
  out.seconds_kernel = seconds_since(t0);

  t0 = std::chrono::steady_clock::now();
  const int info = device_cholesky(blas, int(n), k.p, int(n), d_info.p);
  if (info != 0) {
    out.not_positive_definite_at = info;
    return 1;
  }
  // α = L⁻ᵀ L⁻¹ X, in place in X: n x items column-major, which is αᵀ (items x n) row-major.
  check_blas(api->strsm(blas.h, kBlasSideLeft, kBlasLower, kBlasOpN, kBlasNonUnit, int(n), int(m), &one, k.p, int(n), x.p, int(n)),
             "cublasStrsm (L)");
  check_blas(api->strsm(blas.h, kBlasSideLeft, kBlasLower, kBlasOpT, kBlasNonUnit, int(n), int(m), &one, k.p, int(n), x.p, int(n)),
             "cublasStrsm (Lᵀ)");
  check(cudaMemcpy(out.alpha_t, x.p, sizeof(float) * size_t(n) * m, cudaMemcpyDeviceToHost), "copy α to the host");
  out.seconds_solve = seconds_since(t0);
  out.not_positive_definite_at = 0;
  return 0;
}

}  // namespace

extern "C" int cfkit_cuda_infae_solve(const cfkit_cuda_infae_input* in, cfkit_cuda_infae_output* out, char* error,
                                      size_t error_len) {
  return cfkit::cuda::guarded_entry(error, error_len, [&] { return solve(*in, *out); });
}
