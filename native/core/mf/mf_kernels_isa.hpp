// Internal to the MF kernels: one table of entry points per instruction set, and the scalar
// pieces that define the canonical arithmetic (see mf_kernels.hpp).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "mf/mf_kernels.hpp"

namespace cfkit {
namespace mf {
namespace isa {

struct KernelTable {
  float (*dot)(const float*, const float*, int);
  void (*update)(float*, float*, int, float, float, float, float);
  float (*step_ff)(float*, float*, int, float, float, float, float);
  float (*step_hh)(uint16_t*, uint16_t*, int, float, float, float, float);
  float (*step_fh)(float*, uint16_t*, int, float, float, float, float);
  float (*step_hf)(uint16_t*, float*, int, float, float, float, float);
  RunTotals (*run_ff)(const Rating*, int64_t, float*, float*, int, const uint16_t*, const uint16_t*, float, float, float);
  RunTotals (*run_hh)(const Rating*, int64_t, uint16_t*, uint16_t*, int, const uint16_t*, const uint16_t*, float, float,
                      float);
};

// Each instruction set's table, and its fp16 row conversion (F16C beside AVX2; AArch64 always).
const KernelTable& scalar_table();
#if defined(__x86_64__)
const KernelTable& avx2_table();
const KernelTable& avx512_table();
void half_to_float_f16c(const uint16_t* in, float* out, size_t n);
void float_to_half_f16c(const float* in, uint16_t* out, size_t n);
#elif defined(__aarch64__)
const KernelTable& neon_table();
void half_to_float_neon(const uint16_t* in, float* out, size_t n);
void float_to_half_neon(const float* in, uint16_t* out, size_t n);
#endif

// Step coefficients, rounded the same way by every kernel: g = lr·e, cp = 1 − lr·λp, cq = 1 − lr·λq.
struct StepCoefficients {
  float g, cp, cq;
};
inline StepCoefficients step_coefficients(float e, float lr, float lu, float li) {
  return {lr * e, std::fma(-lr, lu, 1.f), std::fma(-lr, li, 1.f)};
}

// The loop behind sgd_run(), written once and instantiated inside each instruction set's code
// (Step is that set's step function, inlined there).
template <class T, class Step>
inline RunTotals sgd_run_loop(const Rating* x, int64_t n, T* P, T* Q, int k, const uint16_t* plen, const uint16_t* qlen,
                              float lr, float lu, float li, Step step) {
  constexpr int64_t kAhead = 6;  // updates ahead; rows are fetched at random
  RunTotals tot;
  for (int64_t t = 0; t < n; ++t) {
    if (t + kAhead < n) {
      const char* pu = reinterpret_cast<const char*>(P + int64_t(x[t + kAhead].u) * k);
      const char* qi = reinterpret_cast<const char*>(Q + int64_t(x[t + kAhead].i) * k);
      const int bytes = (plen ? plen[x[t + kAhead].u] : k) * int(sizeof(T));
      for (int off = 0; off < bytes; off += 64) {
        __builtin_prefetch(pu + off, 1, 3);
        __builtin_prefetch(qi + off, 1, 3);
      }
    }
    const int m = plen ? std::min(plen[x[t].u], qlen[x[t].i]) : k;
    const float e = step(P + int64_t(x[t].u) * k, Q + int64_t(x[t].i) * k, m, x[t].r, lr, lu, li);
    tot.sse += double(e) * e;
    tot.active += m;
  }
  return tot;
}

float half_bits_to_float(uint16_t h);
uint16_t float_to_half_bits(float f);

}  // namespace isa
}  // namespace mf
}  // namespace cfkit
