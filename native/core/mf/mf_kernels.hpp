// SGD inner kernels with one canonical arithmetic, so every instruction set gives bit-identical
// results:
// - a dot product keeps 64 partial sums (entry d goes to sum d mod 64, accumulated with fused
//   multiply-add) and adds them as a fixed binary tree (sum l += sum l+w for w = 32, 16, ..., 1);
// - an update is p ← fma(lr·e, q, p·(1 − lr·λp)) and q ← fma(lr·e, p_old, q·(1 − lr·λq)).
// AVX-512 (F/BW/VL) and AVX2 kernels are picked at run time on x86-64, NEON on AArch64; the scalar
// code is the reference and the fallback. fp16 rows are IEEE binary16, converted with F16C or NEON
// (round to nearest even) and computed in fp32.
#pragma once
#include <cstddef>
#include <cstdint>

namespace cfkit {
namespace mf {

// One training rating; 12 bytes, the layout the GPU trainer reads as well.
struct Rating {
  int32_t u, i;
  float r;
};

float dot(const float* a, const float* b, int m);
// out[j] = cos(f_item, f_j) for every row j of the rows x m factor matrix f (0 where a norm is 0):
// the item-item relation of factor models (MF, iALS).
void cosines(const float* f, int64_t rows, int m, int64_t item, float* out);
// The canonical update over the first m entries, given the error e.
void update(float* p, float* q, int m, float e, float lr, float lu, float li);

// One fused SGD step on rows p and q over their first m entries: e = r − p·q, then the update.
// Returns e. Any mix of fp32 and fp16 rows; the result is the same as converting to fp32, calling
// dot() and update(), and converting back.
float sgd_step(float* p, float* q, int m, float r, float lr, float lu, float li);
float sgd_step(uint16_t* p, uint16_t* q, int m, float r, float lr, float lu, float li);
float sgd_step(float* p, uint16_t* q, int m, float r, float lr, float lu, float li);
float sgd_step(uint16_t* p, float* q, int m, float r, float lr, float lu, float li);

// SGD over ratings[0, n) in order, every row in one precision (fp32 or fp16), row r of P at
// P + r·k. With lengths (pruning) an update covers the first min(plen[u], qlen[i]) factors, else k.
// The same arithmetic as sgd_step(), in one tight loop that prefetches rows a few updates ahead.
struct RunTotals {
  double sse = 0;     // Σ e² (errors before each update)
  double active = 0;  // Σ factors covered
};
RunTotals sgd_run(const Rating* ratings, int64_t n, float* P, float* Q, int k, const uint16_t* plen,
                  const uint16_t* qlen, float lr, float lu, float li);
RunTotals sgd_run(const Rating* ratings, int64_t n, uint16_t* P, uint16_t* Q, int k, const uint16_t* plen,
                  const uint16_t* qlen, float lr, float lu, float li);

// Half <-> float for a row (IEEE binary16, round to nearest even).
void half_to_float(const uint16_t* in, float* out, size_t n);
void float_to_half(const float* in, uint16_t* out, size_t n);

enum class KernelIsa { Scalar, Avx2, Avx512, Neon };
// The best set this CPU supports, and the one in use.
KernelIsa best_kernel_isa();
KernelIsa kernel_isa();
// For tests and benchmarks: use `isa` from now on if the CPU supports it, else the best set;
// returns the one in use.
KernelIsa use_kernel_isa(KernelIsa isa);
const char* kernel_isa_name(KernelIsa isa);

}  // namespace mf
}  // namespace cfkit
