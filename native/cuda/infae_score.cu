// ∞-AE scoring on the GPU: the support rows X_s and α stay on the device, and each batch of input
// rows costs two GEMMs and the NTK between them. Column-major throughout, as cuBLAS sees it:
//   X_b (b x items), G = X_b·X_sᵀ (b x n), K = NTK(G) in place, Sᵀ = αᵀ·Kᵀ (items x b).
// Sᵀ column-major is S row-major, the layout the caller wants.
#include <cuda_runtime.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "cublas_loader.hpp"
#include "cuda_api.h"
#include "device_util.hpp"
#include "infae_kernels.cuh"

struct cfkit_cuda_infae_scorer {
  const cfkit::cuda::CublasApi* api = nullptr;
  cfkit::cuda::cublasHandle blas = nullptr;
  int64_t users = 0, items = 0;
  float* x = nullptr;      // support rows, users x items column-major
  float* alpha = nullptr;  // α, users x items column-major (αᵀ row-major, as the host holds it)
  double* c = nullptr;     // self terms of the support rows
  std::mutex lock;         // one batch at a time: the host scores from several threads
  ~cfkit_cuda_infae_scorer() {
    cudaFree(x);
    cudaFree(alpha);
    cudaFree(c);
    if (blas) api->destroy(blas);
  }
};

namespace {

using cfkit::cuda::check;
using cfkit::cuda::check_blas;
using cfkit::cuda::DeviceBuffer;
using cfkit::cuda::Failure;
using cfkit::cuda::grid_for;
using cfkit::cuda::ntk_value;
using cfkit::cuda::densify_rows;

enum { kOpN = 0, kOpT = 1 };

// Rows per device batch: bounds the temporaries (X_b, G and Sᵀ) at about 3·kBatch·max(n, items) floats.
constexpr int64_t kBatch = 1024;

// c = 2·<x,x>/items + 0.01 of every CSR row (offsets as in densify_rows), in double on the host.
std::vector<double> self_terms(int64_t rows, int64_t items, const int64_t* indptr, const float* values) {
  std::vector<double> c(rows);
  for (int64_t u = 0; u < rows; ++u) {
    double s = 0;
    for (int64_t p = indptr[u] - indptr[0]; p < indptr[u + 1] - indptr[0]; ++p) s += double(values[p]) * values[p];
    c[u] = 2.0 * s / double(items) + 0.01;
  }
  return c;
}

// G (b x n, column-major) becomes K in place.
__global__ void ntk_rows(int64_t b, int64_t n, float* g, const double* c_rows, const double* c_support, double inv_items) {
  const int64_t total = b * n;
  for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < total; t += int64_t(gridDim.x) * blockDim.x) {
    const int64_t r = t % b, v = t / b;
    g[t] = ntk_value(g[t], c_rows[r], c_support[v], inv_items);
  }
}

void create(const cfkit_cuda_infae_input& in, const float* alpha_t, cfkit_cuda_infae_scorer& s) {
  s.api = cfkit::cuda::cublas();
  if (!s.api) throw Failure{"cuBLAS is not loaded"};
  const int64_t n = in.users, m = in.items;
  if (n > INT32_MAX || m > INT32_MAX || kBatch * std::max(n, m) > INT32_MAX)
    throw Failure{"∞-AE scoring on the GPU: dimensions exceed cuBLAS's 32-bit interface"};
  size_t free_bytes = 0, total_bytes = 0;
  check(cudaMemGetInfo(&free_bytes, &total_bytes), "cudaMemGetInfo");
  const double needed = 8.0 * double(n) * double(m) + 8.0 * double(n) + 4.0 * double(kBatch) * (2.0 * double(m) + double(n));
  if (needed > 0.95 * double(free_bytes))
    throw Failure{"∞-AE scoring on the GPU needs about " + std::to_string(int64_t(needed)) + " bytes of device memory but " +
                  std::to_string(free_bytes) + " are free"};
  s.users = n;
  s.items = m;
  check_blas(s.api->create(&s.blas), "cublasCreate");
  check(cudaMalloc(&s.x, sizeof(float) * size_t(n) * m), "cudaMalloc(support)");
  check(cudaMalloc(&s.alpha, sizeof(float) * size_t(n) * m), "cudaMalloc(alpha)");
  check(cudaMalloc(&s.c, sizeof(double) * size_t(n) + 1), "cudaMalloc");
  check(cudaMemcpy(s.alpha, alpha_t, sizeof(float) * size_t(n) * m, cudaMemcpyHostToDevice), "copy α to the device");
  const std::vector<double> c = self_terms(n, m, in.indptr, in.values);
  check(cudaMemcpy(s.c, c.data(), sizeof(double) * size_t(n), cudaMemcpyHostToDevice), "copy to the device");
  densify_rows(n, m, in.indptr, in.indices, in.values, s.x);
}

void score(cfkit_cuda_infae_scorer& s, int64_t rows, const int64_t* indptr, const int32_t* indices, const float* values,
           float* out) {
  std::lock_guard<std::mutex> guard(s.lock);
  const int64_t n = s.users, m = s.items;
  const float one = 1.f, zero = 0.f;
  const std::vector<double> c_rows = self_terms(rows, m, indptr, values);
  const int64_t cap = std::min<int64_t>(kBatch, std::max<int64_t>(rows, 1));
  DeviceBuffer<float> xb(size_t(cap) * m, "cudaMalloc(batch)"), g(size_t(cap) * n, "cudaMalloc(kernel rows)"),
      st(size_t(cap) * m, "cudaMalloc(scores)");
  DeviceBuffer<double> cb(cap, "cudaMalloc");
  for (int64_t begin = 0; begin < rows; begin += kBatch) {
    const int64_t end = std::min(rows, begin + kBatch), b = end - begin;
    const int64_t first = indptr[begin] - indptr[0];
    densify_rows(b, m, indptr + begin, indices + first, values + first, xb.p);
    cb.upload(c_rows.data() + begin, b);
    // G = X_b · X_sᵀ (b x n)
    check_blas(s.api->sgemm(s.blas, kOpN, kOpT, int(b), int(n), int(m), &one, xb.p, int(b), s.x, int(n), &zero, g.p, int(b)),
               "cublasSgemm (kernel rows)");
    ntk_rows<<<grid_for(b * n, 256), 256>>>(b, n, g.p, cb.p, s.c, 1.0 / double(m));
    check(cudaGetLastError(), "NTK kernel");
    // Sᵀ = αᵀ · Kᵀ (items x b): α is n x items column-major, K is b x n column-major.
    check_blas(s.api->sgemm(s.blas, kOpT, kOpT, int(m), int(b), int(n), &one, s.alpha, int(n), g.p, int(b), &zero, st.p, int(m)),
               "cublasSgemm (scores)");
    check(cudaMemcpy(out + begin * m, st.p, sizeof(float) * size_t(b) * m, cudaMemcpyDeviceToHost), "copy scores to the host");
  }
}

}  // namespace

extern "C" int cfkit_cuda_infae_scorer_create(const cfkit_cuda_infae_input* support, const float* alpha_t,
                                              cfkit_cuda_infae_scorer** out, char* error, size_t error_len) {
  *out = nullptr;
  return cfkit::cuda::guarded_entry(error, error_len, [&] {
    auto* s = new cfkit_cuda_infae_scorer();
    try {
      create(*support, alpha_t, *s);
    } catch (...) {
      delete s;
      throw;
    }
    *out = s;
    return 0;
  });
}

extern "C" int cfkit_cuda_infae_score(cfkit_cuda_infae_scorer* scorer, int64_t rows, const int64_t* indptr,
                                      const int32_t* indices, const float* values, float* out, char* error, size_t error_len) {
  return cfkit::cuda::guarded_entry(error, error_len, [&] {
    score(*scorer, rows, indptr, indices, values, out);
    return 0;
  });
}

extern "C" void cfkit_cuda_infae_scorer_free(cfkit_cuda_infae_scorer* scorer) { delete scorer; }
