// The scalar reference kernels, fp16 conversion, and the run-time choice of instruction set.
#include "mf/mf_kernels.hpp"

#include <atomic>
#include <cmath>
#include <cstring>

#include "mf/mf_kernels_isa.hpp"

namespace cfkit {
namespace mf {
namespace isa {

float half_bits_to_float(uint16_t h) {
  const uint32_t sign = (h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ffu, bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: normalise
      exp = 127 - 15 + 1;
      while (!(mant & 0x400u)) {
        mant <<= 1;
        --exp;
      }
      bits = sign | (exp << 23) | ((mant & 0x3ffu) << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t float_to_half_bits(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const int32_t exp = static_cast<int32_t>((x >> 23) & 0xff) - 127 + 15;
  uint32_t mant = x & 0x7fffffu;
  if (((x >> 23) & 0xff) == 0xff) return static_cast<uint16_t>(sign | 0x7c00u | (mant ? 0x200u : 0));
  if (exp >= 31) return static_cast<uint16_t>(sign | 0x7c00u);
  if (exp <= 0) {
    if (exp < -10) return static_cast<uint16_t>(sign);
    mant |= 0x800000u;
    const int shift = 14 - exp;
    uint32_t half = mant >> shift;
    const uint32_t rem = mant & ((1u << shift) - 1), mid = 1u << (shift - 1);
    if (rem > mid || (rem == mid && (half & 1))) ++half;
    return static_cast<uint16_t>(sign | half);
  }
  uint32_t half = sign | (static_cast<uint32_t>(exp) << 10) | (mant >> 13);
  const uint32_t rem = mant & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (half & 1))) ++half;
  return static_cast<uint16_t>(half);
}

namespace {

inline float load(const float* x, int d) { return x[d]; }
inline float load(const uint16_t* x, int d) { return half_bits_to_float(x[d]); }
inline void store(float* x, int d, float v) { x[d] = v; }
inline void store(uint16_t* x, int d, float v) { x[d] = float_to_half_bits(v); }

template <class TP, class TQ>
float dot_scalar(const TP* p, const TQ* q, int m) {
  float acc[64] = {0};
  for (int d = 0; d < m; ++d) acc[d & 63] = std::fma(load(p, d), load(q, d), acc[d & 63]);
  for (int w = 32; w >= 1; w /= 2)
    for (int l = 0; l < w; ++l) acc[l] += acc[l + w];
  return acc[0];
}

template <class TP, class TQ>
void update_scalar(TP* p, TQ* q, int m, float e, float lr, float lu, float li) {
  const StepCoefficients c = step_coefficients(e, lr, lu, li);
  for (int d = 0; d < m; ++d) {
    const float pd = load(p, d), qd = load(q, d);
    store(p, d, std::fma(c.g, qd, pd * c.cp));
    store(q, d, std::fma(c.g, pd, qd * c.cq));
  }
}

template <class TP, class TQ>
float step_scalar(TP* p, TQ* q, int m, float r, float lr, float lu, float li) {
  const float e = r - dot_scalar(p, q, m);
  update_scalar(p, q, m, e, lr, lu, li);
  return e;
}

template <class T>
RunTotals run_scalar(const Rating* x, int64_t n, T* P, T* Q, int k, const uint16_t* plen, const uint16_t* qlen, float lr,
                     float lu, float li) {
  return sgd_run_loop(x, n, P, Q, k, plen, qlen, lr, lu, li, step_scalar<T, T>);
}

#if defined(__x86_64__)
bool cpu_has_avx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
}

bool cpu_has_avx512() {
  __builtin_cpu_init();
  return cpu_has_avx2() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl");
}
#endif

}  // namespace

const KernelTable& scalar_table() {
  static const KernelTable t = {dot_scalar<float, float>,     update_scalar<float, float>,     step_scalar<float, float>,
                                step_scalar<uint16_t, uint16_t>, step_scalar<float, uint16_t>, step_scalar<uint16_t, float>,
                                run_scalar<float>,            run_scalar<uint16_t>};
  return t;
}

}  // namespace isa

namespace {

const isa::KernelTable& table_for(KernelIsa which) {
  switch (which) {
#if defined(__x86_64__)
    case KernelIsa::Avx512: return isa::avx512_table();
    case KernelIsa::Avx2: return isa::avx2_table();
#elif defined(__aarch64__)
    case KernelIsa::Neon: return isa::neon_table();
#endif
    default: return isa::scalar_table();
  }
}

bool supported(KernelIsa which) {
  if (which == KernelIsa::Scalar) return true;
#if defined(__x86_64__)
  if (which == KernelIsa::Avx2) return isa::cpu_has_avx2();
  if (which == KernelIsa::Avx512) return isa::cpu_has_avx512();
#elif defined(__aarch64__)
  if (which == KernelIsa::Neon) return true;
#endif
  return false;
}

std::atomic<int> g_isa{-1};

KernelIsa current() {
  int v = g_isa.load(std::memory_order_relaxed);
  if (v < 0) {
    v = static_cast<int>(best_kernel_isa());
    g_isa.store(v, std::memory_order_relaxed);
  }
  return static_cast<KernelIsa>(v);
}

const isa::KernelTable& kernels() { return table_for(current()); }

}  // namespace

KernelIsa best_kernel_isa() {
  static const KernelIsa best = supported(KernelIsa::Avx512) ? KernelIsa::Avx512
                                : supported(KernelIsa::Avx2) ? KernelIsa::Avx2
                                : supported(KernelIsa::Neon) ? KernelIsa::Neon
                                                             : KernelIsa::Scalar;
  return best;
}

KernelIsa kernel_isa() { return current(); }

KernelIsa use_kernel_isa(KernelIsa want) {
  const KernelIsa chosen = supported(want) ? want : best_kernel_isa();
  g_isa.store(static_cast<int>(chosen), std::memory_order_relaxed);
  return chosen;
}

const char* kernel_isa_name(KernelIsa which) {
  switch (which) {
    case KernelIsa::Avx512: return "avx512";
    case KernelIsa::Avx2: return "avx2";
    case KernelIsa::Neon: return "neon";
    default: return "scalar";
  }
}

float dot(const float* a, const float* b, int m) { return kernels().dot(a, b, m); }
void cosines(const float* f, int64_t rows, int m, int64_t item, float* out) {
  const float* fi = f + item * m;
  const double ni = std::sqrt(double(dot(fi, fi, m)));
  for (int64_t j = 0; j < rows; ++j) {
    const float* fj = f + j * m;
    const double nj = std::sqrt(double(dot(fj, fj, m)));
    out[j] = ni > 0 && nj > 0 ? static_cast<float>(dot(fi, fj, m) / (ni * nj)) : 0.f;
  }
}
void update(float* p, float* q, int m, float e, float lr, float lu, float li) { kernels().update(p, q, m, e, lr, lu, li); }
float sgd_step(float* p, float* q, int m, float r, float lr, float lu, float li) { return kernels().step_ff(p, q, m, r, lr, lu, li); }
float sgd_step(uint16_t* p, uint16_t* q, int m, float r, float lr, float lu, float li) {
  return kernels().step_hh(p, q, m, r, lr, lu, li);
}
float sgd_step(float* p, uint16_t* q, int m, float r, float lr, float lu, float li) { return kernels().step_fh(p, q, m, r, lr, lu, li); }
float sgd_step(uint16_t* p, float* q, int m, float r, float lr, float lu, float li) { return kernels().step_hf(p, q, m, r, lr, lu, li); }

RunTotals sgd_run(const Rating* ratings, int64_t n, float* P, float* Q, int k, const uint16_t* plen, const uint16_t* qlen,
                  float lr, float lu, float li) {
  return kernels().run_ff(ratings, n, P, Q, k, plen, qlen, lr, lu, li);
}
RunTotals sgd_run(const Rating* ratings, int64_t n, uint16_t* P, uint16_t* Q, int k, const uint16_t* plen,
                  const uint16_t* qlen, float lr, float lu, float li) {
  return kernels().run_hh(ratings, n, P, Q, k, plen, qlen, lr, lu, li);
}

void half_to_float(const uint16_t* in, float* out, size_t n) {
#if defined(__x86_64__)
  if (best_kernel_isa() != KernelIsa::Scalar) return isa::half_to_float_f16c(in, out, n);
#elif defined(__aarch64__)
  return isa::half_to_float_neon(in, out, n);
#endif
  for (size_t d = 0; d < n; ++d) out[d] = isa::half_bits_to_float(in[d]);
}

void float_to_half(const float* in, uint16_t* out, size_t n) {
#if defined(__x86_64__)
  if (best_kernel_isa() != KernelIsa::Scalar) return isa::float_to_half_f16c(in, out, n);
#elif defined(__aarch64__)
  return isa::float_to_half_neon(in, out, n);
#endif
  for (size_t d = 0; d < n; ++d) out[d] = isa::float_to_half_bits(in[d]);
}

}  // namespace mf
}  // namespace cfkit
