// Device code shared by ∞-AE's GPU solve, its GPU scorer and DISTILL-CF.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "device_util.hpp"

namespace cfkit {
namespace cuda {

namespace {

// Dense rows from CSR, column-major with leading dimension `rows`: x[u + i·rows] = value. Entry p of
// the CSR sits at indices[p − base] (base = the first row's offset), so a range of rows of a larger
// matrix needs no re-based copy. One block per row (grid-stride); x must be zeroed first.
template <class T>
__global__ void scatter_rows(int64_t rows, const int64_t* indptr, int64_t base, const int32_t* indices, const float* values,
                             T* x) {
  for (int64_t u = blockIdx.x; u < rows; u += gridDim.x)
    for (int64_t p = indptr[u] - base + threadIdx.x; p < indptr[u + 1] - base; p += blockDim.x)
      x[u + int64_t(indices[p]) * rows] = T(values[p]);
}

// Host side: uploads CSR rows (indptr may start at any offset; indices and values point at that
// row's first entry) and writes them dense into x (device memory, rows x cols column-major).
template <class T>
void densify_rows(int64_t rows, int64_t cols, const int64_t* indptr, const int32_t* indices, const float* values, T* x) {
  const int64_t base = indptr[0], nnz = indptr[rows] - base;
  DeviceBuffer<int64_t> d_indptr(rows + 1, "cudaMalloc");
  DeviceBuffer<int32_t> d_indices(nnz, "cudaMalloc");
  DeviceBuffer<float> d_values(nnz, "cudaMalloc");
  d_indptr.upload(indptr, rows + 1);
  d_indices.upload(indices, nnz);
  d_values.upload(values, nnz);
  check(cudaMemset(x, 0, sizeof(T) * size_t(rows) * size_t(cols)), "cudaMemset");
  scatter_rows<T><<<grid_for(rows, 1), 128>>>(rows, d_indptr.p, base, d_indices.p, d_values.p, x);
  check(cudaGetLastError(), "scatter kernel");
  check(cudaDeviceSynchronize(), "scatter kernel");
}

}  // namespace

// K(u, v) of the one-hidden-layer autoencoder's NTK (ALGORITHMS.md §3.1) from <x_u, x_v> and the
// self terms c_u, c_v (2·<x,x>/items + 0.01), in double as the CPU path.
__device__ inline float ntk_value(float dot, double c_u, double c_v, double inv_items) {
  const double pi = 3.14159265358979323846;
  const double s1 = 2.0 * double(dot) * inv_items + 0.01;
  const double root = sqrt(c_u * c_v);
  const double x = fmin(1.0, s1 / root);
  const double theta = acos(x);
  const double sine = root * sqrt(fmax(0.0, 1.0 - x * x));
  return float((sine + 2.0 * (pi - theta) * s1) / pi + 0.01);
}

}  // namespace cuda
}  // namespace cfkit
