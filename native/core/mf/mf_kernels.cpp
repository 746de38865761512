#include "mf/mf_kernels.hpp"

#include <immintrin.h>

#include <cstring>

namespace cfkit {
namespace mf {

__attribute__((target_clones("avx512f", "avx2", "default"))) float dot(const float* a, const float* b, int m) {
  float acc[16] = {0};
  int d = 0;
  for (; d + 16 <= m; d += 16)
    for (int l = 0; l < 16; ++l) acc[l] += a[d + l] * b[d + l];
  for (int l = 0; d < m; ++d, ++l) acc[l] += a[d] * b[d];
  float s = 0;
  for (int l = 0; l < 16; ++l) s += acc[l];
  return s;
}

__attribute__((target_clones("avx512f", "avx2", "default"))) void update(float* p, float* q, int m, float e, float lr,
                                                                         float lu, float li) {
  for (int d = 0; d < m; ++d) {
    const float pd = p[d], qd = q[d];
    p[d] = pd + lr * (e * qd - lu * pd);
    q[d] = qd + lr * (e * pd - li * qd);
  }
}

namespace {

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

__attribute__((target("avx2,f16c"))) void half_to_float_f16c(const uint16_t* in, float* out, int n) {
  int d = 0;
  for (; d + 8 <= n; d += 8)
    _mm256_storeu_ps(out + d, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(in + d))));
  for (; d < n; ++d) out[d] = half_bits_to_float(in[d]);
}

__attribute__((target("avx2,f16c"))) void float_to_half_f16c(const float* in, uint16_t* out, int n) {
  int d = 0;
  for (; d + 8 <= n; d += 8)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + d), _mm256_cvtps_ph(_mm256_loadu_ps(in + d), _MM_FROUND_TO_NEAREST_INT));
  for (; d < n; ++d) out[d] = float_to_half_bits(in[d]);
}

bool has_f16c() {
  static const bool yes = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("f16c") && __builtin_cpu_supports("avx2");
  }();
  return yes;
}

__attribute__((target("avx512f,f16c"))) float sgd_half_avx512(uint16_t* p, uint16_t* q, int m, int k, float r, float lr,
                                                                  float lu, float li) {
  __m512 acc = _mm512_setzero_ps();
  int d = 0;
  for (; d + 16 <= m; d += 16) {
    const __m512 pv = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + d)));
    const __m512 qv = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + d)));
    acc = _mm512_fmadd_ps(pv, qv, acc);
  }
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, acc);
  float tp[16], tq[16];
  const int tail = m - d;
  if (tail > 0) {
    half_to_float_f16c(p + d, tp, tail);
    half_to_float_f16c(q + d, tq, tail);
    for (int l = 0; l < tail; ++l) lanes[l] += tp[l] * tq[l];
  }
  float s = 0;
  for (int l = 0; l < 16; ++l) s += lanes[l];
  const float e = r - s;
  const __m512 ve = _mm512_set1_ps(e), vlr = _mm512_set1_ps(lr), vlu = _mm512_set1_ps(lu), vli = _mm512_set1_ps(li);
  for (d = 0; d + 16 <= m; d += 16) {
    const __m512 pv = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + d)));
    const __m512 qv = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + d)));
    // p + lr·(e·q − lu·p), q + lr·(e·p − li·q), with the rounding order of update().
    const __m512 pn = _mm512_add_ps(pv, _mm512_mul_ps(vlr, _mm512_sub_ps(_mm512_mul_ps(ve, qv), _mm512_mul_ps(vlu, pv))));
    const __m512 qn = _mm512_add_ps(qv, _mm512_mul_ps(vlr, _mm512_sub_ps(_mm512_mul_ps(ve, pv), _mm512_mul_ps(vli, qv))));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(p + d), _mm512_cvtps_ph(pn, _MM_FROUND_TO_NEAREST_INT));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + d), _mm512_cvtps_ph(qn, _MM_FROUND_TO_NEAREST_INT));
  }
  if (tail > 0) {
    for (int l = 0; l < tail; ++l) {
      const float pd = tp[l], qd = tq[l];
      tp[l] = pd + lr * (e * qd - lu * pd);
      tq[l] = qd + lr * (e * pd - li * qd);
    }
    float_to_half_f16c(tp, p + d, tail);
    float_to_half_f16c(tq, q + d, tail);
  }
  (void)k;
  return e;
}

bool has_avx512() {
  static const bool yes = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("f16c");
  }();
  return yes;
}

}  // namespace

float sgd_half(uint16_t* p, uint16_t* q, int m, int k, float r, float lr, float lu, float li) {
  if (has_avx512()) return sgd_half_avx512(p, q, m, k, r, lr, lu, li);
  float tp[4096], tq[4096];
  half_to_float(p, tp, k);
  half_to_float(q, tq, k);
  const float e = r - dot(tp, tq, m);
  update(tp, tq, m, e, lr, lu, li);
  float_to_half(tp, p, m);
  float_to_half(tq, q, m);
  return e;
}

void half_to_float(const uint16_t* in, float* out, int n) {
  if (has_f16c()) return half_to_float_f16c(in, out, n);
  for (int d = 0; d < n; ++d) out[d] = half_bits_to_float(in[d]);
}

void float_to_half(const float* in, uint16_t* out, int n) {
  if (has_f16c()) return float_to_half_f16c(in, out, n);
  for (int d = 0; d < n; ++d) out[d] = float_to_half_bits(in[d]);
}

}  // namespace mf
}  // namespace cfkit
