// Matrix factorization by batch-Hogwild SGD on the GPU, in cuMF_SGD's layout (ALGORITHMS.md §4.1, §5):
// one warp per update, lane ℓ owning factors ℓ, ℓ+32, …; each warp takes 128 consecutive ratings
// from a random start in the (pre-shuffled) rating array; warps race on shared rows by design.
// Storage is fp32, fp16 (arithmetic in fp32) or MASCOT: fp16 rows whose group switches to fp32 for
// good once its quantisation error, estimated from sampled gradients, grows past the threshold.
// Pruned training (sgd_epoch_pruned) keeps fp16 rows with per-row active lengths and computes the
// dot products of 16 updates at a time on tensor cores, skipping the 16-wide latent tiles that every
// pair in the group has pruned (arXiv 2404.04265).
// The CPU trainer (native/core/mf) is the twin this is compared with on a GPU.
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <mma.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <vector>

#include "cuda_api.h"
#include "device_util.hpp"

namespace {

using cfkit::cuda::check;
using cfkit::cuda::DeviceBuffer;
using cfkit::cuda::Failure;
using cfkit::cuda::grid_for;
using cfkit::cuda::seconds_since;

constexpr int kBatch = 128;        // consecutive ratings per warp batch (cuMF_SGD)
constexpr int kMaxPerLane = 8;     // k <= 256
constexpr int kWarpsPerBlock = 4;  // blocks of 128 threads

enum Precision { kFp32 = 0, kFp16 = 1, kMascot = 2 };

__host__ __device__ inline uint64_t mix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

// One side's parameters: rows of k values in fp32, in fp16, or both (MASCOT), and for MASCOT which
// groups have switched to fp32.
struct Rows {
  float* f32;
  __half* f16;
  const int32_t* group;
  const uint8_t* group_f32;
  float* grad_sum;  // MASCOT estimate: per group, k sums of sampled gradients
  float* grad_sq;   // per group, the sum of their squared norms
};

template <int Mode>
__device__ inline bool row_in_f32(const Rows& s, int64_t row) {
  if (Mode == kFp32) return true;
  if (Mode == kFp16) return false;
  return s.group_f32[s.group[row]] != 0;
}

template <int Mode>
__device__ inline void load_row(const Rows& s, int64_t row, bool f32, int k, int lane, float* v) {
#pragma unroll
  for (int j = 0; j < kMaxPerLane; ++j) {
    const int d = lane + 32 * j;
    if (d < k) v[j] = (Mode == kFp32 || f32) ? s.f32[row * k + d] : __half2float(s.f16[row * k + d]);
  }
}

template <int Mode>
__device__ inline void store_row(const Rows& s, int64_t row, bool f32, int k, int lane, const float* v) {
#pragma unroll
  for (int j = 0; j < kMaxPerLane; ++j) {
    const int d = lane + 32 * j;
    if (d >= k) continue;
    if (Mode == kFp32 || f32)
      s.f32[row * k + d] = v[j];
    else
      s.f16[row * k + d] = __float2half_rn(v[j]);
  }
}

__device__ inline float warp_sum(float x) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) x += __shfl_xor_sync(0xffffffffu, x, o);
  return x;
}

// Adds one sampled gradient (lane's share in g) to its group's sums, for a row stored in fp16.
__device__ inline void add_sample(const Rows& s, int64_t row, int k, int lane, const float* g) {
  const int grp = s.group[row];
  float sq = 0;
#pragma unroll
  for (int j = 0; j < kMaxPerLane; ++j) {
    const int d = lane + 32 * j;
    if (d >= k) continue;
    atomicAdd(&s.grad_sum[int64_t(grp) * k + d], g[j]);
    sq += g[j] * g[j];
  }
  sq = warp_sum(sq);
  if (lane == 0) atomicAdd(&s.grad_sq[grp], sq);
}

template <int Mode>
__global__ void sgd_epoch(const cfkit_cuda_rating* ratings, int64_t nnz, int k, Rows P, Rows Q,
                          float lr, float lu, float li, uint64_t seed, int batches, bool estimate,
                          uint32_t sample_cutoff, double* sse) {
  const int lane = threadIdx.x & 31;
  const uint64_t warp = (uint64_t(blockIdx.x) * blockDim.x + threadIdx.x) >> 5;
  float local = 0;
  for (int b = 0; b < batches; ++b) {
    const int64_t start = int64_t(mix64(seed ^ mix64(warp * 0x100000001B3ULL + uint64_t(b))) % uint64_t(nnz));
    for (int t = 0; t < kBatch; ++t) {
      int64_t x = start + t;
      if (x >= nnz) x -= nnz;
      const cfkit_cuda_rating rating = ratings[x];
      const int64_t u = rating.u, i = rating.i;
      const bool pf = row_in_f32<Mode>(P, u), qf = row_in_f32<Mode>(Q, i);
      float p[kMaxPerLane] = {}, q[kMaxPerLane] = {};
      load_row<Mode>(P, u, pf, k, lane, p);
      load_row<Mode>(Q, i, qf, k, lane, q);
      float dot = 0;
#pragma unroll
      for (int j = 0; j < kMaxPerLane; ++j) dot += p[j] * q[j];
      const float e = rating.r - warp_sum(dot);
      local += e * e;
      float gp[kMaxPerLane], gq[kMaxPerLane];
#pragma unroll
      for (int j = 0; j < kMaxPerLane; ++j) {
        gp[j] = e * q[j] - lu * p[j];
        gq[j] = e * p[j] - li * q[j];
      }
      if (Mode == kMascot && estimate && uint32_t(mix64(seed ^ uint64_t(x)) >> 32) < sample_cutoff) {
        if (!pf) add_sample(P, u, k, lane, gp);
        if (!qf) add_sample(Q, i, k, lane, gq);
      }
#pragma unroll
      for (int j = 0; j < kMaxPerLane; ++j) {
        p[j] += lr * gp[j];
        q[j] += lr * gq[j];
      }
      store_row<Mode>(P, u, pf, k, lane, p);
      store_row<Mode>(Q, i, qf, k, lane, q);
    }
  }
  // Every lane computed the same e, so lane 0's sum is the warp's.
  if (lane == 0) atomicAdd(sse, double(local));
}

constexpr int kGroup = 16;  // updates whose dot products share one tensor-core product

// Pruned SGD over fp16 rows. Each warp takes batches of 128 consecutive ratings like sgd_epoch, in
// groups of 16: the group's dot products are the diagonal of P_g·Q_gᵀ (16 x 16), accumulated in fp32
// over the 16-wide latent tiles below the group's longest active pair (a pair's active length is the
// shorter of its two rows, and both rows are zero past their own lengths, so the extra products are
// zero). The 16 updates then run one after another, lanes over the factors, in fp32 arithmetic.
// Within a group every error comes from the factors before the group's updates (Hogwild-style).
__global__ void sgd_epoch_pruned(const cfkit_cuda_rating* ratings, int64_t nnz, int k, __half* P, __half* Q,
                                 const uint16_t* plen, const uint16_t* qlen, float lr, float lu, float li,
                                 uint64_t seed, int batches, double* sse) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 700
  using namespace nvcuda;
  __shared__ __align__(32) __half tile_p[kWarpsPerBlock][kGroup * 16];
  __shared__ __align__(32) __half tile_q[kWarpsPerBlock][kGroup * 16];
  __shared__ __align__(32) float dots[kWarpsPerBlock][kGroup * kGroup];
  const unsigned all = 0xffffffffu;
  const int lane = threadIdx.x & 31, w = threadIdx.x >> 5;
  const uint64_t warp = (uint64_t(blockIdx.x) * blockDim.x + threadIdx.x) >> 5;
  const float cp = fmaf(-lr, lu, 1.f), cq = fmaf(-lr, li, 1.f);
  float local = 0;
  for (int b = 0; b < batches; ++b) {
    const int64_t start = int64_t(mix64(seed ^ mix64(warp * 0x100000001B3ULL + uint64_t(b))) % uint64_t(nnz));
    for (int g = 0; g < kBatch; g += kGroup) {
      // Lane j and lane j + 16 both hold rating j of the group.
      const cfkit_cuda_rating rt = ratings[(start + g + (lane & 15)) % nnz];
      const int m = min(int(plen[rt.u]), int(qlen[rt.i]));
      int widest = m;
#pragma unroll
      for (int o = 8; o > 0; o >>= 1) widest = max(widest, __shfl_xor_sync(all, widest, o));
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
      wmma::fill_fragment(acc, 0.f);
      // Gather a 16 x 16 tile of the group's P rows and Q rows: lane copies 8 halves (16 bytes) of
      // row lane/2.
      const int row = lane >> 1, part = lane & 1;
      const int64_t urow = __shfl_sync(all, rt.u, row), irow = __shfl_sync(all, rt.i, row);
      for (int t = 0; t * 16 < widest; ++t) {
        const int d = t * 16 + part * 8;
        *reinterpret_cast<uint4*>(&tile_p[w][row * 16 + part * 8]) = *reinterpret_cast<const uint4*>(&P[urow * k + d]);
        *reinterpret_cast<uint4*>(&tile_q[w][row * 16 + part * 8]) = *reinterpret_cast<const uint4*>(&Q[irow * k + d]);
        __syncwarp();
        wmma::fragment<wmma::matrix_a, 16, 16, 16, __half, wmma::row_major> a;
        wmma::fragment<wmma::matrix_b, 16, 16, 16, __half, wmma::col_major> bq;  // Q tile read as Qᵀ
        wmma::load_matrix_sync(a, tile_p[w], 16);
        wmma::load_matrix_sync(bq, tile_q[w], 16);
        wmma::mma_sync(acc, a, bq, acc);
        __syncwarp();
      }
      wmma::store_matrix_sync(dots[w], acc, kGroup, wmma::mem_row_major);
      __syncwarp();
      for (int j = 0; j < kGroup; ++j) {
        const int64_t u = __shfl_sync(all, rt.u, j), i = __shfl_sync(all, rt.i, j);
        const float r = __shfl_sync(all, rt.r, j);
        const int mj = __shfl_sync(all, m, j);
        const float e = r - dots[w][j * kGroup + j];
        if (lane == 0) local += e * e;
        const float step = lr * e;
        for (int d = lane; d < mj; d += 32) {
          const float pd = __half2float(P[u * k + d]), qd = __half2float(Q[i * k + d]);
          P[u * k + d] = __float2half_rn(fmaf(step, qd, pd * cp));
          Q[i * k + d] = __float2half_rn(fmaf(step, pd, qd * cq));
        }
        __syncwarp();
      }
    }
  }
  if (lane == 0) atomicAdd(sse, double(local));
#endif
}

__global__ void to_half(const float* in, __half* out, int64_t n) {
  for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < n; t += int64_t(gridDim.x) * blockDim.x)
    out[t] = __float2half_rn(in[t]);
}

__global__ void to_float(const __half* in, float* out, int64_t n) {
  for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < n; t += int64_t(gridDim.x) * blockDim.x)
    out[t] = __half2float(in[t]);
}

// Copies the fp16 rows of newly switched groups into fp32 storage, where they live from now on.
__global__ void promote_rows(const __half* in, float* out, const int32_t* group, const uint8_t* newly, int64_t rows, int k) {
  const int64_t n = rows * k;
  for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < n; t += int64_t(gridDim.x) * blockDim.x)
    if (newly[group[t / k]]) out[t] = __half2float(in[t]);
}

// One side on the device, with its MASCOT state.
struct DeviceSide {
  int64_t rows;
  int k, groups;
  DeviceBuffer<float> f32;
  DeviceBuffer<__half> f16;
  DeviceBuffer<int32_t> group;
  DeviceBuffer<uint8_t> group_f32, newly;
  DeviceBuffer<float> grad_sum, grad_sq;
  DeviceBuffer<uint16_t> len;  // pruning: active factors per row
  std::vector<uint8_t> host_f32;
  std::vector<double> base;  // q-error at the first estimate, per group

  DeviceSide(int64_t n, int kk, int g, bool f32_rows, bool f16_rows)
      : rows(n), k(kk), groups(g), f32(f32_rows ? size_t(n) * kk : 0, "cudaMalloc(factors)"),
        f16(f16_rows ? size_t(n) * kk : 0, "cudaMalloc(factors)"), group(n, "cudaMalloc"), group_f32(g, "cudaMalloc"),
        newly(g, "cudaMalloc"), grad_sum(size_t(g) * kk, "cudaMalloc"), grad_sq(g, "cudaMalloc"), len(n, "cudaMalloc"),
        host_f32(g, 0) {}

  // Factors (fp32 on the host) into the fp16 rows, and the active lengths.
  void upload_half(const float* host, const uint16_t* lengths) {
    const size_t n = size_t(rows) * k;
    DeviceBuffer<float> tmp(n, "cudaMalloc");
    tmp.upload(host, n);
    to_half<<<grid_for(int64_t(n), 256), 256>>>(tmp.p, f16.p, int64_t(n));
    check(cudaGetLastError(), "to_half");
    if (lengths) len.upload(lengths, size_t(rows));
  }

  Rows view() { return {f32.p, f16.p, group.p, group_f32.p, grad_sum.p, grad_sq.p}; }

  void clear_estimate() {
    check(cudaMemset(grad_sum.p, 0, sizeof(float) * size_t(groups) * k), "cudaMemset");
    check(cudaMemset(grad_sq.p, 0, sizeof(float) * groups), "cudaMemset");
  }

  // q-error ‖Σg‖²/Σ‖g‖² per fp16 group, normalised by its first value; switches groups above the
  // threshold. Returns how many switched.
  int switch_groups(double threshold) {
    std::vector<float> sum(size_t(groups) * k), sq(groups);
    grad_sum.download(sum.data(), sum.size());
    grad_sq.download(sq.data(), sq.size());
    std::vector<uint8_t> now(groups, 0);
    const bool first = base.empty();
    if (first) base.assign(groups, -1.0);
    int switched = 0;
    for (int g = 0; g < groups; ++g) {
      if (host_f32[g] || sq[g] <= 0) continue;
      double s2 = 0;
      for (int d = 0; d < k; ++d) s2 += double(sum[size_t(g) * k + d]) * sum[size_t(g) * k + d];
      const double err = s2 / double(sq[g]);
      if (first || base[g] <= 0) {
        base[g] = err;
      } else if (err / base[g] > threshold) {
        now[g] = 1;
        host_f32[g] = 1;
        ++switched;
      }
    }
    if (switched) {
      newly.upload(now.data(), groups);
      promote_rows<<<grid_for(rows * k, 256), 256>>>(f16.p, f32.p, group.p, newly.p, rows, k);
      check(cudaGetLastError(), "promote_rows");
      group_f32.upload(host_f32.data(), groups);
    }
    return switched;
  }

  // The current factors as fp32, into host.
  void download(float* host, int mode) {
    const size_t n = size_t(rows) * k;
    if (mode == kFp32) {
      f32.download(host, n);
      return;
    }
    DeviceBuffer<float> tmp(n, "cudaMalloc");
    to_float<<<grid_for(int64_t(n), 256), 256>>>(f16.p, tmp.p, int64_t(n));
    check(cudaGetLastError(), "to_float");
    tmp.download(host, n);
    if (mode == kMascot && std::find(host_f32.begin(), host_f32.end(), 1) != host_f32.end()) {
      // Rows of switched groups live in fp32.
      std::vector<float> full(n);
      f32.download(full.data(), n);
      std::vector<int32_t> grp(rows);
      group.download(grp.data(), rows);
      for (int64_t r = 0; r < rows; ++r)
        if (host_f32[grp[r]]) std::copy_n(&full[size_t(r) * k], k, &host[size_t(r) * k]);
    }
  }
};

int train(const cfkit_cuda_mf_problem& pr, const cfkit_cuda_mf_params& pa, cfkit_cuda_mf_epoch_fn on_epoch, void* user) {
  const int k = pr.k;
  if (k % 32 != 0 || k < 32 || k > 32 * kMaxPerLane) throw Failure{"MF on the GPU needs factors a multiple of 32 in [32, 256]"};
  if (pr.nnz <= 0) throw Failure{"MF on the GPU: no ratings"};
  const int mode = pa.precision;
  const bool mascot = mode == kMascot;
  const int ug = mascot ? pr.user_groups : 1, ig = mascot ? pr.item_groups : 1;
  DeviceSide P(pr.users, k, ug, mode != kFp16, mode != kFp32), Q(pr.items, k, ig, mode != kFp16, mode != kFp32);
  DeviceBuffer<cfkit_cuda_rating> ratings(pr.nnz, "cudaMalloc(ratings)");
  DeviceBuffer<double> sse(1, "cudaMalloc");
  ratings.upload(pr.ratings, pr.nnz);
  const bool pruned = pa.pruned != 0;
  if (pruned && (mode != kFp16 || !pr.user_len || !pr.item_len || !pa.copy_each_epoch))
    throw Failure{"pruned MF on the GPU needs fp16 storage, row lengths and copy_each_epoch"};
  for (DeviceSide* s : {&P, &Q}) {
    const float* init = s == &P ? pr.p : pr.q;
    const size_t n = size_t(s->rows) * k;
    if (mode == kFp16 || mascot) s->upload_half(init, pruned ? (s == &P ? pr.user_len : pr.item_len) : nullptr);
    if (mode == kFp32) s->f32.upload(init, n);
    if (mascot) {
      s->group.upload(s == &P ? pr.user_group : pr.item_group, s->rows);
      std::vector<uint8_t> zero(s->groups, 0);
      s->group_f32.upload(zero.data(), s->groups);
    }
  }
  int device = 0, sms = 0;
  check(cudaGetDevice(&device), "cudaGetDevice");
  check(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device), "cudaDeviceGetAttribute");
  // About 32 warps per SM, never more warps than batches of work.
  const int64_t warps = std::max<int64_t>(kWarpsPerBlock, std::min<int64_t>(int64_t(sms) * 32, (pr.nnz + kBatch - 1) / kBatch));
  const int blocks = int((warps + kWarpsPerBlock - 1) / kWarpsPerBlock);
  const int batches = int((pr.nnz + int64_t(blocks) * kWarpsPerBlock * kBatch - 1) / (int64_t(blocks) * kWarpsPerBlock * kBatch));
  const uint32_t cutoff = uint32_t(std::min(1.0, std::max(0.0, pa.mascot_sample_ratio)) * 4294967295.0);
  int switched = 0;
  for (int epoch = 0; epoch < pa.epochs; ++epoch) {
    const auto t0 = std::chrono::steady_clock::now();
    const float lr = float(pa.lr_alpha / (1.0 + pa.lr_beta * std::pow(double(epoch), 1.5)));
    const bool estimate = mascot && epoch >= 5 && (epoch - 5) % std::max(1, pa.mascot_interval) == 0 && epoch < pa.epochs - 1;
    if (estimate) {
      P.clear_estimate();
      Q.clear_estimate();
    }
    check(cudaMemset(sse.p, 0, sizeof(double)), "cudaMemset");
    const uint64_t seed = mix64(pa.seed ^ mix64(uint64_t(epoch) + 1));
    const float lu = float(pa.l2_user), li = float(pa.l2_item);
    if (pruned) {
      sgd_epoch_pruned<<<blocks, 32 * kWarpsPerBlock>>>(ratings.p, pr.nnz, k, P.f16.p, Q.f16.p, P.len.p, Q.len.p, lr, lu, li, seed,
                                                        batches, sse.p);
    } else switch (mode) {
      case kFp32:
        sgd_epoch<kFp32><<<blocks, 32 * kWarpsPerBlock>>>(ratings.p, pr.nnz, k, P.view(), Q.view(), lr, lu, li, seed, batches, false, 0, sse.p);
        break;
      case kFp16:
        sgd_epoch<kFp16><<<blocks, 32 * kWarpsPerBlock>>>(ratings.p, pr.nnz, k, P.view(), Q.view(), lr, lu, li, seed, batches, false, 0, sse.p);
        break;
      default:
        sgd_epoch<kMascot><<<blocks, 32 * kWarpsPerBlock>>>(ratings.p, pr.nnz, k, P.view(), Q.view(), lr, lu, li, seed, batches, estimate, cutoff, sse.p);
    }
    check(cudaGetLastError(), "SGD kernel");
    double total = 0;
    sse.download(&total, 1);
    if (estimate) switched += P.switch_groups(pa.mascot_threshold) + Q.switch_groups(pa.mascot_threshold);
    check(cudaDeviceSynchronize(), "SGD epoch");
    cfkit_cuda_mf_epoch ep;
    ep.epoch = epoch + 1;
    // Updates per epoch: batches·128 per warp, about nnz (each warp's batches cover its share).
    ep.train_rmse = std::sqrt(total / double(int64_t(blocks) * kWarpsPerBlock * batches * kBatch));
    ep.seconds = seconds_since(t0);
    ep.lr = lr;
    ep.groups_switched = switched;
    if (pa.copy_each_epoch || epoch + 1 == pa.epochs) {
      P.download(pr.p, mode);
      Q.download(pr.q, mode);
    }
    const int next = on_epoch ? on_epoch(&ep, user) : CFKIT_CUDA_MF_CONTINUE;
    if (next == CFKIT_CUDA_MF_UPLOAD && mode == kFp16) {
      P.upload_half(pr.p, pruned ? pr.user_len : nullptr);
      Q.upload_half(pr.q, pruned ? pr.item_len : nullptr);
    } else if (next != CFKIT_CUDA_MF_CONTINUE) {
      return 2;
    }
  }
  return 0;
}

}  // namespace

extern "C" int cfkit_cuda_mf_train(const cfkit_cuda_mf_problem* problem, const cfkit_cuda_mf_params* params,
                                   cfkit_cuda_mf_epoch_fn on_epoch, void* user, char* error, size_t error_len) {
  return cfkit::cuda::guarded_entry(error, error_len, [&] { return train(*problem, *params, on_epoch, user); });
}
