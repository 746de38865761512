// DISTILL-CF's loss and gradient on the GPU: the forward and adjoint equations of
// core/infae/distill.cpp, in float64 as there, with the dense products on cuBLAS and the Gumbel
// noise and NTK partials from the same inline code as the CPU (infae/distill_math.hpp).
//
// Column-major throughout, as cuBLAS sees it. Every budget x items matrix is held as items x budget
// (leading dimension items), which is the host's row-major budget x items, so logits go up and the
// gradient comes down without a transpose:
//   X (users x items): the real users;  XSt = X̃ᵀ (items x m);  Dss = X̃X̃ᵀ (m x m);  Drs = X X̃ᵀ (users x m)
//   αt = X̃ᵀA⁻¹ (items x m, two right-side trsm);  PT = αt·Krsᵀ = Pᵀ (items x users)
#include <cuda_runtime.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "../core/infae/distill_math.hpp"
#include "cublas_loader.hpp"
#include "cuda_api.h"
#include "device_cholesky.cuh"
#include "device_util.hpp"
#include "infae_kernels.cuh"

namespace {

using cfkit::cuda::BlasHandle;
using cfkit::cuda::blas_trsm;
using cfkit::cuda::check;
using cfkit::cuda::check_blas;
using cfkit::cuda::CublasApi;
using cfkit::cuda::densify_rows;
using cfkit::cuda::device_cholesky;
using cfkit::cuda::DeviceBuffer;
using cfkit::cuda::Failure;
using cfkit::cuda::grid_for;
using cfkit::cuda::guarded_entry;
using cfkit::cuda::kBlasOpN;
using cfkit::cuda::kBlasOpT;
using cfkit::cuda::kBlasSideRight;
using cfkit::distill_math::gumbel_noise;
using cfkit::distill_math::ntk_partials;
using cfkit::distill_math::NtkPartials;

constexpr int kThreads = 256;  // every kernel below assumes a multiple of 32
constexpr int kPartials = 256; // blocks of the plain sum reductions

__device__ double warp_sum(double v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
  return v;
}

// The block's sum, returned to every thread in a fixed order (deterministic). scratch: 32 doubles.
__device__ double block_sum(double v, double* scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  v = warp_sum(v);
  __syncthreads();  // a previous call may still be reading scratch
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  double total = 0;
  for (int w = 0; w < warps; ++w) total += scratch[w];
  return total;
}

// Running softmax statistics of values y with weights d: max m, z = Σ e^{y−m}, w = Σ d·e^{y−m}.
struct SoftmaxStats {
  double m, z, w;
};

__device__ void push(SoftmaxStats& s, double y, double d) {
  if (y > s.m) {
    const double e = exp(s.m - y);
    s.z = s.z * e + 1.0;
    s.w = s.w * e + d;
    s.m = y;
  } else {
    const double e = exp(y - s.m);
    s.z += e;
    s.w += d * e;
  }
}

__device__ SoftmaxStats merge(SoftmaxStats a, SoftmaxStats b) {
  if (b.z == 0.0) return a;
  if (a.z == 0.0) return b;
  const double m = fmax(a.m, b.m), ea = exp(a.m - m), eb = exp(b.m - m);
  return {m, a.z * ea + b.z * eb, a.w * ea + b.w * eb};
}

// The block's merged statistics, returned to every thread. scratch: 96 doubles.
__device__ SoftmaxStats block_stats(SoftmaxStats s, double* scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  for (int o = 16; o > 0; o >>= 1) {
    SoftmaxStats other{__shfl_down_sync(0xffffffffu, s.m, o), __shfl_down_sync(0xffffffffu, s.z, o),
                       __shfl_down_sync(0xffffffffu, s.w, o)};
    s = merge(s, other);
  }
  __syncthreads();
  if (lane == 0) {
    scratch[warp] = s.m;
    scratch[32 + warp] = s.z;
    scratch[64 + warp] = s.w;
  }
  __syncthreads();
  SoftmaxStats total{-INFINITY, 0.0, 0.0};
  for (int w = 0; w < warps; ++w) total = merge(total, SoftmaxStats{scratch[w], scratch[32 + w], scratch[64 + w]});
  return total;
}

// Σ = Σ_t softmax((logits + G_t)/τ), one block per synthetic row: per sample, a pass for the
// softmax statistics and a pass that accumulates (the noise is recomputed rather than stored).
__global__ void gumbel_sum_kernel(int64_t m, int64_t items, int samples, double tau, uint64_t seed, const double* logits,
                                  double* sigma) {
  __shared__ double scratch[96];
  for (int64_t v = blockIdx.x; v < m; v += gridDim.x) {
    const double* lv = logits + v * items;
    double* sv = sigma + v * items;
    for (int64_t i = threadIdx.x; i < items; i += blockDim.x) sv[i] = 0.0;
    for (int t = 0; t < samples; ++t) {
      SoftmaxStats s{-INFINITY, 0.0, 0.0};
      for (int64_t i = threadIdx.x; i < items; i += blockDim.x) push(s, (lv[i] + gumbel_noise(seed, t, v, i)) / tau, 0.0);
      const SoftmaxStats all = block_stats(s, scratch);
      for (int64_t i = threadIdx.x; i < items; i += blockDim.x)
        sv[i] += exp((lv[i] + gumbel_noise(seed, t, v, i)) / tau - all.m) / all.z;
    }
  }
}

// ∂L/∂logits = Σ_t S_t ⊙ (dΣ − ⟨dΣ, S_t⟩)/τ, one block per synthetic row.
__global__ void gumbel_grad_kernel(int64_t m, int64_t items, int samples, double tau, uint64_t seed, const double* logits,
                                   const double* dsigma, double* grad) {
  __shared__ double scratch[96];
  for (int64_t v = blockIdx.x; v < m; v += gridDim.x) {
    const double* lv = logits + v * items;
    const double* dv = dsigma + v * items;
    double* gv = grad + v * items;
    for (int64_t i = threadIdx.x; i < items; i += blockDim.x) gv[i] = 0.0;
    for (int t = 0; t < samples; ++t) {
      SoftmaxStats s{-INFINITY, 0.0, 0.0};
      for (int64_t i = threadIdx.x; i < items; i += blockDim.x) push(s, (lv[i] + gumbel_noise(seed, t, v, i)) / tau, dv[i]);
      const SoftmaxStats all = block_stats(s, scratch);
      const double inner = all.w / all.z;
      for (int64_t i = threadIdx.x; i < items; i += blockDim.x) {
        const double p = exp((lv[i] + gumbel_noise(seed, t, v, i)) / tau - all.m) / all.z;
        gv[i] += p * (dv[i] - inner) / tau;
      }
    }
  }
}

__device__ int64_t thread_index() { return blockIdx.x * int64_t(blockDim.x) + threadIdx.x; }
__device__ int64_t thread_stride() { return int64_t(gridDim.x) * blockDim.x; }

// X̃ = min(Σ, 1), and per-block partial sums of X̃ (the cardinality term).
__global__ void clamp_kernel(int64_t n, const double* sigma, double* xs, double* partials) {
  __shared__ double scratch[32];
  double local = 0;
  for (int64_t q = thread_index(); q < n; q += thread_stride()) {
    xs[q] = fmin(sigma[q], 1.0);
    local += xs[q];
  }
  const double total = block_sum(local, scratch);
  if (threadIdx.x == 0) partials[blockIdx.x] = total;
}

// c_v = 2·Dss_vv/items + 0.01 and the diagonal of a square matrix.
__global__ void self_terms_kernel(int64_t m, const double* dss, double inv_items, double* c) {
  for (int64_t v = thread_index(); v < m; v += thread_stride()) c[v] = 2.0 * dss[v + v * m] * inv_items + 0.01;
}
__global__ void diagonal_kernel(int64_t m, const double* a, double* d) {
  for (int64_t v = thread_index(); v < m; v += thread_stride()) d[v] = a[v + v * m];
}
__global__ void add_diagonal_kernel(int64_t m, double* a, double value) {
  for (int64_t v = thread_index(); v < m; v += thread_stride()) a[v + v * m] += value;
}

// K (rows x cols) = NTK of the dot products D; with `square`, the diagonal is the self term 2c + 0.01.
__global__ void ntk_kernel(int64_t rows, int64_t cols, const double* d, const double* c_rows, const double* c_cols,
                           double inv_items, bool square, double* k) {
  for (int64_t q = thread_index(); q < rows * cols; q += thread_stride()) {
    const int64_t r = q % rows, c = q / rows;
    k[q] = square && r == c ? 2.0 * c_rows[r] + 0.01 : ntk_partials(2.0 * d[q] * inv_items + 0.01, c_rows[r], c_cols[c]).f;
  }
}

// Per real user (one block each): loss_u = (Σx·lse(P_u) − ⟨x_u, P_u⟩)/U into partial[u]; with
// `gradient`, P_u is overwritten by dP_u = (softmax(P_u)·Σx − x_u)/U.
__global__ void loss_rows_kernel(int64_t users, int64_t items, const int64_t* indptr, const int32_t* indices,
                                 const float* values, const double* rowsum, bool gradient, double* pt, double* partial) {
  __shared__ double scratch[96];
  const double inv_users = 1.0 / double(users);
  for (int64_t u = blockIdx.x; u < users; u += gridDim.x) {
    double* p = pt + u * items;
    SoftmaxStats s{-INFINITY, 0.0, 0.0};
    for (int64_t i = threadIdx.x; i < items; i += blockDim.x) push(s, p[i], 0.0);
    const SoftmaxStats all = block_stats(s, scratch);
    const double lse = all.m + log(all.z);
    double dot = 0;
    for (int64_t q = indptr[u] + threadIdx.x; q < indptr[u + 1]; q += blockDim.x) dot += double(values[q]) * p[indices[q]];
    dot = block_sum(dot, scratch);  // its barriers also end every read of p
    if (threadIdx.x == 0) partial[u] = (rowsum[u] * lse - dot) * inv_users;
    if (!gradient) continue;
    for (int64_t i = threadIdx.x; i < items; i += blockDim.x) p[i] = exp(p[i] - lse) * rowsum[u] * inv_users;
    __syncthreads();
    for (int64_t q = indptr[u] + threadIdx.x; q < indptr[u + 1]; q += blockDim.x) p[indices[q]] -= double(values[q]) * inv_users;
    __syncthreads();
  }
}

// Through the synthetic kernel's NTK: ddss = dK ⊙ f_s·2/items off the diagonal, and dc_x collects
// dK_xy·f_ca(x, y) + dK_yx·f_cb(y, x) (+ 2·dK_xx from the diagonal's self term). One block per x.
__global__ void ntk_back_square_kernel(int64_t m, const double* dss, const double* c, const double* dk, double inv_items,
                                       double* ddss, double* dc) {
  __shared__ double scratch[32];
  for (int64_t x = blockIdx.x; x < m; x += gridDim.x) {
    double acc = 0;
    for (int64_t y = threadIdx.x; y < m; y += blockDim.x) {
      if (y == x) {
        ddss[x + y * m] = 0.0;
        acc += 2.0 * dk[x + x * m];
        continue;
      }
      const NtkPartials xy = ntk_partials(2.0 * dss[x + y * m] * inv_items + 0.01, c[x], c[y]);
      const NtkPartials yx = ntk_partials(2.0 * dss[y + x * m] * inv_items + 0.01, c[y], c[x]);
      ddss[x + y * m] = dk[x + y * m] * xy.fs * 2.0 * inv_items;
      acc += dk[x + y * m] * xy.fa + dk[y + x * m] * yx.fb;
    }
    acc = block_sum(acc, scratch);
    if (threadIdx.x == 0) dc[x] = acc;
  }
}

// Through the real-to-synthetic kernel: dKrs becomes ddrs = dK ⊙ f_s·2/items in place, and dc_v
// gains Σ_u dK_uv·f_cb(u, v). One block per synthetic column v (contiguous in memory).
__global__ void ntk_back_rect_kernel(int64_t users, int64_t m, const double* drs, const double* c_real, const double* c,
                                     double inv_items, double* dk, double* dc) {
  __shared__ double scratch[32];
  for (int64_t v = blockIdx.x; v < m; v += gridDim.x) {
    double acc = 0;
    for (int64_t u = threadIdx.x; u < users; u += blockDim.x) {
      const int64_t q = u + v * users;
      const NtkPartials pr = ntk_partials(2.0 * drs[q] * inv_items + 0.01, c_real[u], c[v]);
      acc += dk[q] * pr.fb;
      dk[q] *= pr.fs * 2.0 * inv_items;
    }
    acc = block_sum(acc, scratch);
    if (threadIdx.x == 0) dc[v] += acc;
  }
}

// dsym = ddss + ddssᵀ, with dc·2/items added to ddss's diagonal first.
__global__ void symmetrize_kernel(int64_t m, const double* ddss, const double* dc, double inv_items, double* dsym) {
  for (int64_t q = thread_index(); q < m * m; q += thread_stride()) {
    const int64_t v = q % m, w = q / m;
    dsym[q] = v == w ? 4.0 * dc[v] * inv_items : ddss[q] + ddss[w + v * m];
  }
}

// dΣ = dX̃ (+ the cardinality term) where Σ < 1, else 0 (min(Σ, 1) is flat there).
__global__ void dsigma_kernel(int64_t n, const double* sigma, double dcard, double* dxs) {
  for (int64_t q = thread_index(); q < n; q += thread_stride()) dxs[q] = sigma[q] < 1.0 ? dxs[q] + dcard : 0.0;
}

double host_sum(const DeviceBuffer<double>& partials, int64_t n) {
  std::vector<double> h(n);
  partials.download(h.data(), n);
  double s = 0;
  for (double v : h) s += v;
  return s;
}

}  // namespace

struct cfkit_cuda_distill {
  int64_t users, items, m;
  double density;  // real ratings per user
  const CublasApi* api;
  BlasHandle blas;
  DeviceBuffer<double> x, c_real, rowsum;
  DeviceBuffer<int64_t> indptr;
  DeviceBuffer<int32_t> indices;
  DeviceBuffer<float> values;
  // per call, m x items (held items x m)
  DeviceBuffer<double> logits, sigma, xst, alphat, dxst, grad;
  // users x items
  DeviceBuffer<double> pt;
  // users x m
  DeviceBuffer<double> drs, krs, dkrs;
  // m x m and m
  DeviceBuffer<double> dss, chol, dkss, ddss, dsym, c, dc, diag;
  DeviceBuffer<double> partials;
  DeviceBuffer<int> info;

  cfkit_cuda_distill(const cfkit_cuda_distill_input& in, const CublasApi* a)
      : users(in.users), items(in.items), m(in.budget), density(double(in.indptr[in.users]) / double(in.users)), api(a),
        blas(a), x(size_t(users) * items, "cudaMalloc(real users)"), c_real(users, "cudaMalloc"), rowsum(users, "cudaMalloc"),
        indptr(users + 1, "cudaMalloc"), indices(in.indptr[users], "cudaMalloc"), values(in.indptr[users], "cudaMalloc"),
        logits(size_t(m) * items, "cudaMalloc(logits)"), sigma(size_t(m) * items, "cudaMalloc"), xst(size_t(m) * items, "cudaMalloc"),
        alphat(size_t(m) * items, "cudaMalloc"), dxst(size_t(m) * items, "cudaMalloc"), grad(size_t(m) * items, "cudaMalloc"),
        pt(size_t(users) * items, "cudaMalloc(predictions)"), drs(size_t(users) * m, "cudaMalloc"), krs(size_t(users) * m, "cudaMalloc"),
        dkrs(size_t(users) * m, "cudaMalloc"), dss(size_t(m) * m, "cudaMalloc"), chol(size_t(m) * m, "cudaMalloc"),
        dkss(size_t(m) * m, "cudaMalloc"), ddss(size_t(m) * m, "cudaMalloc"), dsym(size_t(m) * m, "cudaMalloc"), c(m, "cudaMalloc"),
        dc(m, "cudaMalloc"), diag(std::max(m, users), "cudaMalloc"), partials(std::max<int64_t>(kPartials, users), "cudaMalloc"),
        info(1, "cudaMalloc") {
    const int64_t nnz = in.indptr[users];
    indptr.upload(in.indptr, users + 1);
    indices.upload(in.indices, nnz);
    values.upload(in.values, nnz);
    densify_rows<double>(users, items, in.indptr, in.indices, in.values, x.p);
    std::vector<double> cr(users), rs(users);
    for (int64_t u = 0; u < users; ++u) {
      double sq = 0, sum = 0;
      for (int64_t p = in.indptr[u]; p < in.indptr[u + 1]; ++p) {
        sq += double(in.values[p]) * in.values[p];
        sum += in.values[p];
      }
      cr[u] = 2.0 * sq / double(items) + 0.01;
      rs[u] = sum;
    }
    c_real.upload(cr.data(), users);
    rowsum.upload(rs.data(), users);
  }

  void gemm(int ta, int tb, int64_t rows, int64_t cols, int64_t inner, double alpha, const double* a, int64_t lda, const double* b,
            int64_t ldb, double beta, double* out, int64_t ldc, const char* what) {
    check_blas(api->dgemm(blas.h, ta, tb, int(rows), int(cols), int(inner), &alpha, a, int(lda), b, int(ldb), &beta, out, int(ldc)),
               what);
  }

  // b (items x m) ← b·A⁻¹ with A = L·Lᵀ in chol.
  void solve_right(double* b) {
    const double one = 1.0;
    check_blas(blas_trsm(blas, kBlasSideRight, kBlasOpT, int(items), int(m), &one, chol.p, int(m), b, int(items)), "cublasDtrsm (Lᵀ)");
    check_blas(blas_trsm(blas, kBlasSideRight, kBlasOpN, int(items), int(m), &one, chol.p, int(m), b, int(items)), "cublasDtrsm (L)");
  }

  double trace(const DeviceBuffer<double>& a) {
    diagonal_kernel<<<grid_for(m, kThreads), kThreads>>>(m, a.p, diag.p);
    check(cudaGetLastError(), "diagonal");
    return host_sum(diag, m);
  }

  void gumbel_sum(const cfkit_cuda_distill_step& s, const double* host_logits) {
    logits.upload(host_logits, size_t(m) * items);
    gumbel_sum_kernel<<<int(std::min<int64_t>(m, 65535)), kThreads>>>(m, items, s.samples, s.tau, s.noise_seed, logits.p, sigma.p);
    check(cudaGetLastError(), "Gumbel-softmax kernel");
  }

  // Returns 0 or the 1-based column where the synthetic kernel is not positive definite.
  int64_t loss(const cfkit_cuda_distill_step& s, const double* host_logits, double* out_loss, double* host_grad) {
    const int64_t n = m * items;
    const double inv_items = 1.0 / double(items);
    gumbel_sum(s, host_logits);
    clamp_kernel<<<kPartials, kThreads>>>(n, sigma.p, xst.p, partials.p);
    check(cudaGetLastError(), "clamp kernel");
    const double card = host_sum(partials, kPartials);
    // Dss = XStᵀ·XSt, Drs = X·XSt, then the kernels.
    gemm(kBlasOpT, kBlasOpN, m, m, items, 1.0, xst.p, items, xst.p, items, 0.0, dss.p, m, "cublasDgemm (Dss)");
    gemm(kBlasOpN, kBlasOpN, users, m, items, 1.0, x.p, users, xst.p, items, 0.0, drs.p, users, "cublasDgemm (Drs)");
    self_terms_kernel<<<grid_for(m, kThreads), kThreads>>>(m, dss.p, inv_items, c.p);
    ntk_kernel<<<grid_for(m * m, kThreads), kThreads>>>(m, m, dss.p, c.p, c.p, inv_items, true, chol.p);
    ntk_kernel<<<grid_for(users * m, kThreads), kThreads>>>(users, m, drs.p, c_real.p, c.p, inv_items, false, krs.p);
    check(cudaGetLastError(), "NTK kernel");
    const double reg = std::fabs(s.lambda) * trace(chol) / double(m);
    add_diagonal_kernel<<<grid_for(m, kThreads), kThreads>>>(m, chol.p, reg);
    check(cudaGetLastError(), "ridge");
    const int broken = device_cholesky(blas, int(m), chol.p, int(m), info.p);
    if (broken != 0) return broken;
    // αt = XSt·A⁻¹, PT = αt·Krsᵀ.
    check(cudaMemcpy(alphat.p, xst.p, sizeof(double) * size_t(n), cudaMemcpyDeviceToDevice), "copy");
    solve_right(alphat.p);
    gemm(kBlasOpN, kBlasOpT, items, users, m, 1.0, alphat.p, items, krs.p, users, 0.0, pt.p, items, "cublasDgemm (predictions)");
    const bool gradient = host_grad != nullptr;
    loss_rows_kernel<<<int(std::min<int64_t>(users, 65535)), kThreads>>>(users, items, indptr.p, indices.p, values.p, rowsum.p,
                                                                         gradient, pt.p, partials.p);
    check(cudaGetLastError(), "loss kernel");
    const double cardinality = s.cardinality_reg * card / double(m) / density;
    *out_loss = host_sum(partials, users) + cardinality;
    if (!gradient) return 0;

    // dαt = dPT·Krs, dKrs = dPTᵀ·αt, Bt = dαt·A⁻¹ (the start of dX̃ᵀ), dKss = −Btᵀ·αt.
    gemm(kBlasOpN, kBlasOpN, items, m, users, 1.0, pt.p, items, krs.p, users, 0.0, dxst.p, items, "cublasDgemm (dα)");
    gemm(kBlasOpT, kBlasOpN, users, m, items, 1.0, pt.p, items, alphat.p, items, 0.0, dkrs.p, users, "cublasDgemm (dKrs)");
    solve_right(dxst.p);
    gemm(kBlasOpT, kBlasOpN, m, m, items, -1.0, dxst.p, items, alphat.p, items, 0.0, dkss.p, m, "cublasDgemm (dKss)");
    add_diagonal_kernel<<<grid_for(m, kThreads), kThreads>>>(m, dkss.p, std::fabs(s.lambda) / double(m) * trace(dkss));
    ntk_back_square_kernel<<<int(std::min<int64_t>(m, 65535)), kThreads>>>(m, dss.p, c.p, dkss.p, inv_items, ddss.p, dc.p);
    ntk_back_rect_kernel<<<int(std::min<int64_t>(m, 65535)), kThreads>>>(users, m, drs.p, c_real.p, c.p, inv_items, dkrs.p, dc.p);
    symmetrize_kernel<<<grid_for(m * m, kThreads), kThreads>>>(m, ddss.p, dc.p, inv_items, dsym.p);
    check(cudaGetLastError(), "NTK adjoint kernels");
    // dX̃ᵀ += XSt·dsym + Xᵀ·ddrs, then through min(Σ, 1) and the Gumbel-softmax.
    gemm(kBlasOpN, kBlasOpN, items, m, m, 1.0, xst.p, items, dsym.p, m, 1.0, dxst.p, items, "cublasDgemm (dX̃, synthetic)");
    gemm(kBlasOpT, kBlasOpN, items, m, users, 1.0, x.p, users, dkrs.p, users, 1.0, dxst.p, items, "cublasDgemm (dX̃, real)");
    dsigma_kernel<<<grid_for(n, kThreads), kThreads>>>(n, sigma.p, s.cardinality_reg / double(m) / density, dxst.p);
    gumbel_grad_kernel<<<int(std::min<int64_t>(m, 65535)), kThreads>>>(m, items, s.samples, s.tau, s.noise_seed, logits.p, dxst.p,
                                                                       grad.p);
    check(cudaGetLastError(), "Gumbel-softmax adjoint kernel");
    grad.download(host_grad, size_t(n));
    return 0;
  }
};

namespace {

void validate_step(const cfkit_cuda_distill_step& s) {
  if (s.samples < 1 || !(s.tau > 0)) throw Failure{"DISTILL-CF on the GPU: samples must be >= 1 and tau > 0"};
}

}  // namespace

extern "C" int cfkit_cuda_distill_create(const cfkit_cuda_distill_input* in, cfkit_cuda_distill** out, char* error,
                                         size_t error_len) {
  *out = nullptr;
  return guarded_entry(error, error_len, [&] {
    const CublasApi* api = cfkit::cuda::cublas();
    if (!api) throw Failure{"cuBLAS is not loaded"};
    const int64_t users = in->users, items = in->items, m = in->budget;
    if (users < 1 || items < 1 || m < 2) throw Failure{"DISTILL-CF on the GPU: empty problem"};
    if (users > INT32_MAX || items > INT32_MAX || m > INT32_MAX)
      throw Failure{"DISTILL-CF on the GPU: dimensions exceed cuBLAS's 32-bit interface"};
    size_t free_bytes = 0, total_bytes = 0;
    check(cudaMemGetInfo(&free_bytes, &total_bytes), "cudaMemGetInfo");
    const double needed = 8.0 * (2.0 * double(users) * double(items) + 6.0 * double(m) * double(items) +
                                 3.0 * double(users) * double(m) + 5.0 * double(m) * double(m)) +
                          16.0 * double(in->indptr[users]) + 40.0 * double(users);
    if (needed > 0.95 * double(free_bytes))
      throw Failure{"DISTILL-CF on the GPU needs about " + std::to_string(int64_t(needed)) + " bytes of device memory but " +
                    std::to_string(free_bytes) + " are free; use fewer users, a smaller budget or device: 'cpu'"};
    std::unique_ptr<cfkit_cuda_distill> d(new cfkit_cuda_distill(*in, api));
    *out = d.release();
    return 0;
  });
}

extern "C" int cfkit_cuda_distill_loss(cfkit_cuda_distill* d, const cfkit_cuda_distill_step* step, const double* logits,
                                       double* loss, double* grad, int64_t* not_positive_definite_at, char* error,
                                       size_t error_len) {
  return guarded_entry(error, error_len, [&] {
    validate_step(*step);
    const int64_t broken = d->loss(*step, logits, loss, grad);
    *not_positive_definite_at = broken;
    return broken == 0 ? 0 : 1;
  });
}

extern "C" int cfkit_cuda_distill_gumbel_sum(cfkit_cuda_distill* d, const cfkit_cuda_distill_step* step, const double* logits,
                                             double* sigma, char* error, size_t error_len) {
  return guarded_entry(error, error_len, [&] {
    validate_step(*step);
    d->gumbel_sum(*step, logits);
    d->sigma.download(sigma, size_t(d->m) * d->items);
    return 0;
  });
}

extern "C" void cfkit_cuda_distill_free(cfkit_cuda_distill* d) { delete d; }
