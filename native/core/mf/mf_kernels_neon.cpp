// NEON (AArch64) versions of the canonical MF kernels (mf_kernels.hpp). The 64 partial sums live in
// sixteen 4-lane accumulators, vector j holding sums 4j .. 4j+3, so the reduction below is the
// scalar tree level by level. AArch64 always has NEON, fused multiply-add and fp16 conversion
// (round to nearest even under the default FPCR), so no run-time check is needed.
#if defined(__aarch64__)
#include <arm_neon.h>

#include <cstring>

#include "mf/mf_kernels_isa.hpp"

namespace cfkit {
namespace mf {
namespace isa {
namespace {

// Partial chunks (n < 4) go through a zero-padded buffer; callers keep the padded lanes out of
// sums and stores.
inline float32x4_t load4(const float* x, int n) {
  if (n >= 4) return vld1q_f32(x);
  float t[4] = {0, 0, 0, 0};
  std::memcpy(t, x, size_t(n) * 4);
  return vld1q_f32(t);
}
inline float32x4_t load4(const uint16_t* x, int n) {
  uint16_t t[4] = {0, 0, 0, 0};
  std::memcpy(t, x, size_t(n >= 4 ? 4 : n) * 2);
  return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(t)));
}
inline void store4(float* x, int n, float32x4_t v) {
  if (n >= 4) return vst1q_f32(x, v);
  float t[4];
  vst1q_f32(t, v);
  std::memcpy(x, t, size_t(n) * 4);
}
inline void store4(uint16_t* x, int n, float32x4_t v) {
  uint16_t t[4];
  vst1_u16(t, vreinterpret_u16_f16(vcvt_f16_f32(v)));
  std::memcpy(x, t, size_t(n >= 4 ? 4 : n) * 2);
}

// Lanes below n are all ones.
inline uint32x4_t lanes_below(int n) {
  const uint32_t idx[4] = {0, 1, 2, 3};
  return vcltq_u32(vld1q_u32(idx), vdupq_n_u32(uint32_t(n)));
}

// The canonical tree: w = 32, 16, 8, 4 between vectors, then 2 and 1 within the last one.
inline float sum64(float32x4_t* a) {
  for (int w = 8; w >= 1; w /= 2)
    for (int j = 0; j < w; ++j) a[j] = vaddq_f32(a[j], a[j + w]);
  const float32x2_t h = vadd_f32(vget_low_f32(a[0]), vget_high_f32(a[0]));
  return vget_lane_f32(h, 0) + vget_lane_f32(h, 1);
}

template <class TP, class TQ>
float dot_neon(const TP* p, const TQ* q, int m) {
  float32x4_t a[16];
  for (int j = 0; j < 16; ++j) a[j] = vdupq_n_f32(0.f);
  int d = 0;
  for (; d + 64 <= m; d += 64)
    for (int j = 0; j < 16; ++j) a[j] = vfmaq_f32(a[j], load4(p + d + 4 * j, 4), load4(q + d + 4 * j, 4));
  for (int j = 0; j < 16; ++j) {
    const int n = m - d - 4 * j;
    if (n <= 0) break;
    const float32x4_t f = vfmaq_f32(a[j], load4(p + d + 4 * j, n), load4(q + d + 4 * j, n));
    // Padded lanes keep their sum untouched, as the scalar loop never visits them (+0 would turn -0 into +0).
    a[j] = n >= 4 ? f : vbslq_f32(lanes_below(n), f, a[j]);
  }
  return sum64(a);
}

template <class TP, class TQ>
void update_neon(TP* p, TQ* q, int m, float e, float lr, float lu, float li) {
  const StepCoefficients c = step_coefficients(e, lr, lu, li);
  const float32x4_t g = vdupq_n_f32(c.g), cp = vdupq_n_f32(c.cp), cq = vdupq_n_f32(c.cq);
  for (int d = 0; d < m; d += 4) {
    const int n = m - d;
    const float32x4_t pv = load4(p + d, n), qv = load4(q + d, n);
    store4(p + d, n, vfmaq_f32(vmulq_f32(pv, cp), g, qv));
    store4(q + d, n, vfmaq_f32(vmulq_f32(qv, cq), g, pv));
  }
}

template <class TP, class TQ>
float step_neon(TP* p, TQ* q, int m, float r, float lr, float lu, float li) {
  const float e = r - dot_neon(p, q, m);
  update_neon(p, q, m, e, lr, lu, li);
  return e;
}

template <class T>
RunTotals run_neon(const Rating* x, int64_t n, T* P, T* Q, int k, const uint16_t* plen, const uint16_t* qlen, float lr,
                   float lu, float li) {
  return sgd_run_loop(x, n, P, Q, k, plen, qlen, lr, lu, li, step_neon<T, T>);
}

}  // namespace

const KernelTable& neon_table() {
  static const KernelTable t = {dot_neon<float, float>,        update_neon<float, float>,  step_neon<float, float>,
                                step_neon<uint16_t, uint16_t>, step_neon<float, uint16_t>, step_neon<uint16_t, float>,
                                run_neon<float>,               run_neon<uint16_t>};
  return t;
}

void half_to_float_neon(const uint16_t* in, float* out, size_t n) {
  size_t d = 0;
  for (; d + 4 <= n; d += 4) vst1q_f32(out + d, vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(in + d))));
  for (; d < n; ++d) out[d] = half_bits_to_float(in[d]);
}

void float_to_half_neon(const float* in, uint16_t* out, size_t n) {
  size_t d = 0;
  for (; d + 4 <= n; d += 4) vst1_u16(out + d, vreinterpret_u16_f16(vcvt_f16_f32(vld1q_f32(in + d))));
  for (; d < n; ++d) out[d] = float_to_half_bits(in[d]);
}

}  // namespace isa
}  // namespace mf
}  // namespace cfkit
#endif
