// AVX2 and AVX-512 versions of the canonical MF kernels (mf_kernels.hpp). The 64 partial sums live
// in eight 8-lane (AVX2) or four 16-lane (AVX-512) accumulators, vector j holding sums j·W .. j·W+W−1,
// so the reduction tree below is the scalar one, level by level.
#if defined(__x86_64__)
#include <immintrin.h>

#include <array>
#include <cstring>
#include <utility>

// GCC 12's AVX-512 conversion intrinsics start from _mm*_undefined_*() values and trip these
// warnings inside the headers; the values are fully overwritten.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "mf/mf_kernels_isa.hpp"

#define CFKIT_AVX2 __attribute__((target("avx2,fma,f16c")))
#define CFKIT_AVX512 __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl")))

namespace cfkit {
namespace mf {
namespace isa {
namespace {

// ---- AVX2: 8 lanes; partial chunks go through masks (fp32) or a small buffer (fp16).

CFKIT_AVX2 inline __m256i lanes_below(int n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
CFKIT_AVX2 inline __m256 load8(const float* x, int n) {
  return n >= 8 ? _mm256_loadu_ps(x) : _mm256_maskload_ps(x, lanes_below(n));
}
CFKIT_AVX2 inline __m256 load8(const uint16_t* x, int n) {
  if (n >= 8) return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x)));
  alignas(16) uint16_t t[8] = {0};
  std::memcpy(t, x, size_t(n) * 2);
  return _mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(t)));
}
CFKIT_AVX2 inline void store8(float* x, int n, __m256 v) {
  if (n >= 8)
    _mm256_storeu_ps(x, v);
  else
    _mm256_maskstore_ps(x, lanes_below(n), v);
}
CFKIT_AVX2 inline void store8(uint16_t* x, int n, __m256 v) {
  const __m128i h = _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT);
  if (n >= 8) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(x), h);
  } else {
    alignas(16) uint16_t t[8];
    _mm_store_si128(reinterpret_cast<__m128i*>(t), h);
    std::memcpy(x, t, size_t(n) * 2);
  }
}

CFKIT_AVX2 inline float sum4(__m128 x) {
  x = _mm_add_ps(x, _mm_movehl_ps(x, x));
  x = _mm_add_ss(x, _mm_shuffle_ps(x, x, 1));
  return _mm_cvtss_f32(x);
}

template <class TP, class TQ>
CFKIT_AVX2 float dot_avx2(const TP* p, const TQ* q, int m) {
  __m256 a[8];
#pragma GCC unroll 8
  for (int j = 0; j < 8; ++j) a[j] = _mm256_setzero_ps();
  int d = 0;
  for (; d + 64 <= m; d += 64) {
#pragma GCC unroll 8
    for (int j = 0; j < 8; ++j) a[j] = _mm256_fmadd_ps(load8(p + d + 8 * j, 8), load8(q + d + 8 * j, 8), a[j]);
  }
#pragma GCC unroll 8
  for (int j = 0; j < 8; ++j) {
    const int n = m - d - 8 * j;
    if (n <= 0) break;
    const __m256 f = _mm256_fmadd_ps(load8(p + d + 8 * j, n), load8(q + d + 8 * j, n), a[j]);
    a[j] = n >= 8 ? f : _mm256_blendv_ps(a[j], f, _mm256_castsi256_ps(lanes_below(n)));
  }
  const __m256 t0 = _mm256_add_ps(a[0], a[4]), t1 = _mm256_add_ps(a[1], a[5]), t2 = _mm256_add_ps(a[2], a[6]),
               t3 = _mm256_add_ps(a[3], a[7]);
  const __m256 v = _mm256_add_ps(_mm256_add_ps(t0, t2), _mm256_add_ps(t1, t3));
  return sum4(_mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1)));
}

template <class TP, class TQ>
CFKIT_AVX2 void update_avx2(TP* p, TQ* q, int m, float e, float lr, float lu, float li) {
  const StepCoefficients c = step_coefficients(e, lr, lu, li);
  const __m256 g = _mm256_set1_ps(c.g), cp = _mm256_set1_ps(c.cp), cq = _mm256_set1_ps(c.cq);
  for (int d = 0; d < m; d += 8) {
    const int n = m - d;
    const __m256 pv = load8(p + d, n), qv = load8(q + d, n);
    store8(p + d, n, _mm256_fmadd_ps(g, qv, _mm256_mul_ps(pv, cp)));
    store8(q + d, n, _mm256_fmadd_ps(g, pv, _mm256_mul_ps(qv, cq)));
  }
}

template <class TP, class TQ>
CFKIT_AVX2 float step_avx2(TP* p, TQ* q, int m, float r, float lr, float lu, float li) {
  const float e = r - dot_avx2(p, q, m);
  update_avx2(p, q, m, e, lr, lu, li);
  return e;
}

// ---- AVX-512: 16 lanes; partial chunks through masks.

CFKIT_AVX512 inline __mmask16 mask16(int n) { return n >= 16 ? __mmask16(0xffff) : __mmask16((1u << n) - 1); }
// Intel cores do not forward a store to a later masked load, which then waits for the store to
// retire; Hogwild reloads a row it has just written, so full chunks use plain loads.
CFKIT_AVX512 inline __m512 load16(const float* x, __mmask16 k) {
  return k == 0xffff ? _mm512_loadu_ps(x) : _mm512_maskz_loadu_ps(k, x);
}
CFKIT_AVX512 inline __m512 load16(const uint16_t* x, __mmask16 k) {
  return _mm512_cvtph_ps(k == 0xffff ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x)) : _mm256_maskz_loadu_epi16(k, x));
}
// Masked stores are much slower than plain ones on some CPUs (AMD Zen), so full chunks and the
// half chunks that pruned lengths (multiples of 8) leave use plain stores.
CFKIT_AVX512 inline void store16(float* x, __mmask16 k, __m512 v) {
  if (k == 0xffff)
    _mm512_storeu_ps(x, v);
  else if (k == 0xff)
    _mm256_storeu_ps(x, _mm512_castps512_ps256(v));
  else
    _mm512_mask_storeu_ps(x, k, v);
}
CFKIT_AVX512 inline void store16(uint16_t* x, __mmask16 k, __m512 v) {
  const __m256i h = _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT);
  if (k == 0xffff)
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(x), h);
  else if (k == 0xff)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(x), _mm256_castsi256_si128(h));
  else
    _mm256_mask_storeu_epi16(x, k, h);
}

// The canonical tree over four 16-lane accumulators (lanes 16j..16j+15 in a[j]).
CFKIT_AVX512 inline float sum64(const __m512* a) {
  const __m512 s = _mm512_add_ps(_mm512_add_ps(a[0], a[2]), _mm512_add_ps(a[1], a[3]));
  const __m256 lo = _mm512_castps512_ps256(s);
  const __m256 hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(s), 1));
  const __m256 v = _mm256_add_ps(lo, hi);
  return sum4(_mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1)));
}

template <class TP, class TQ>
CFKIT_AVX512 float dot_avx512(const TP* p, const TQ* q, int m) {
  __m512 a[4];
#pragma GCC unroll 4
  for (int j = 0; j < 4; ++j) a[j] = _mm512_setzero_ps();
  int d = 0;
  for (; d + 64 <= m; d += 64) {
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) a[j] = _mm512_fmadd_ps(load16(p + d + 16 * j, 0xffff), load16(q + d + 16 * j, 0xffff), a[j]);
  }
#pragma GCC unroll 4
  for (int j = 0; j < 4; ++j) {
    const int n = m - d - 16 * j;
    if (n <= 0) break;
    const __mmask16 k = mask16(n);
    a[j] = _mm512_mask3_fmadd_ps(load16(p + d + 16 * j, k), load16(q + d + 16 * j, k), a[j], k);
  }
  return sum64(a);
}

template <class TP, class TQ>
CFKIT_AVX512 void update_avx512(TP* p, TQ* q, int m, float e, float lr, float lu, float li) {
  const StepCoefficients c = step_coefficients(e, lr, lu, li);
  const __m512 g = _mm512_set1_ps(c.g), cp = _mm512_set1_ps(c.cp), cq = _mm512_set1_ps(c.cq);
  for (int d = 0; d < m; d += 16) {
    const __mmask16 k = mask16(m - d);
    const __m512 pv = load16(p + d, k), qv = load16(q + d, k);
    store16(p + d, k, _mm512_fmadd_ps(g, qv, _mm512_mul_ps(pv, cp)));
    store16(q + d, k, _mm512_fmadd_ps(g, pv, _mm512_mul_ps(qv, cq)));
  }
}

// Rows of up to 128 entries stay in registers between the dot product and the update.
template <class TP, class TQ>
CFKIT_AVX512 float step_avx512_short(TP* p, TQ* q, int m, float r, float lr, float lu, float li) {
  __m512 pv[8], qv[8], a[4];
  const int chunks = (m + 15) / 16;
#pragma GCC unroll 4
  for (int j = 0; j < 4; ++j) a[j] = _mm512_setzero_ps();
#pragma GCC unroll 8
  for (int j = 0; j < 8; ++j) {
    if (j >= chunks) break;
    const __mmask16 k = mask16(m - 16 * j);
    pv[j] = load16(p + 16 * j, k);
    qv[j] = load16(q + 16 * j, k);
    a[j & 3] = _mm512_mask3_fmadd_ps(pv[j], qv[j], a[j & 3], k);
  }
  const float e = r - sum64(a);
  const StepCoefficients c = step_coefficients(e, lr, lu, li);
  const __m512 g = _mm512_set1_ps(c.g), cp = _mm512_set1_ps(c.cp), cq = _mm512_set1_ps(c.cq);
#pragma GCC unroll 8
  for (int j = 0; j < 8; ++j) {
    if (j >= chunks) break;
    const __mmask16 k = mask16(m - 16 * j);
    store16(p + 16 * j, k, _mm512_fmadd_ps(g, qv[j], _mm512_mul_ps(pv[j], cp)));
    store16(q + 16 * j, k, _mm512_fmadd_ps(g, pv[j], _mm512_mul_ps(qv[j], cq)));
  }
  return e;
}

template <class TP, class TQ>
CFKIT_AVX512 float step_avx512(TP* p, TQ* q, int m, float r, float lr, float lu, float li) {
  if (m <= 128) return step_avx512_short(p, q, m, r, lr, lu, li);
  const float e = r - dot_avx512(p, q, m);
  update_avx512(p, q, m, e, lr, lu, li);
  return e;
}

// The SGD loops of one instruction set. `any` takes every case, pruned lengths included; flatten
// inlines the shared loop into it first, so the step can be inlined into code compiled for this set.
// `chunks` is `any` for unpruned rows of 16·C entries (k = 16, 32, ..., 128, the common case), with
// k constant, so the step's chunk tests fold away. One thread, k = 128, AVX-512, rows in L1:
// 23.5 -> 18.7 ns an update; ML-1M (one thread): 25 -> 18 ns.
template <int C, class T>
struct Avx2Run {
  static CFKIT_AVX2 __attribute__((flatten)) RunTotals chunks(const Rating* x, int64_t n, T* P, T* Q, float lr, float lu, float li) {
    return any(x, n, P, Q, 16 * C, nullptr, nullptr, lr, lu, li);
  }
  static CFKIT_AVX2 __attribute__((flatten)) RunTotals any(const Rating* x, int64_t n, T* P, T* Q, int k, const uint16_t* plen,
                                                           const uint16_t* qlen, float lr, float lu, float li) {
    return sgd_run_loop(x, n, P, Q, k, plen, qlen, lr, lu, li,
                        [](T* p, T* q, int m, float r, float a, float b, float c) CFKIT_AVX2 { return step_avx2(p, q, m, r, a, b, c); });
  }
};

template <int C, class T>
struct Avx512Run {
  static CFKIT_AVX512 __attribute__((flatten)) RunTotals chunks(const Rating* x, int64_t n, T* P, T* Q, float lr, float lu,
                                                                float li) {
    return any(x, n, P, Q, 16 * C, nullptr, nullptr, lr, lu, li);
  }
  static CFKIT_AVX512 __attribute__((flatten)) RunTotals any(const Rating* x, int64_t n, T* P, T* Q, int k, const uint16_t* plen,
                                                             const uint16_t* qlen, float lr, float lu, float li) {
    return sgd_run_loop(x, n, P, Q, k, plen, qlen, lr, lu, li,
                        [](T* p, T* q, int m, float r, float a, float b, float c) CFKIT_AVX512 { return step_avx512(p, q, m, r, a, b, c); });
  }
};

template <class T>
using ChunkRun = RunTotals (*)(const Rating*, int64_t, T*, T*, float, float, float);

template <template <int, class> class Run, class T, int... C>
constexpr std::array<ChunkRun<T>, sizeof...(C)> chunk_runs(std::integer_sequence<int, C...>) {
  return {{Run<C + 1, T>::chunks...}};
}

// The loop specialised for k where there is one, else the general one.
template <template <int, class> class Run, class T>
RunTotals run_for(const Rating* x, int64_t n, T* P, T* Q, int k, const uint16_t* plen, const uint16_t* qlen, float lr, float lu,
                  float li) {
  static constexpr std::array<ChunkRun<T>, 8> runs = chunk_runs<Run, T>(std::make_integer_sequence<int, 8>{});
  if (!plen && k % 16 == 0 && k >= 16 && k <= 128) return runs[k / 16 - 1](x, n, P, Q, lr, lu, li);
  return Run<1, T>::any(x, n, P, Q, k, plen, qlen, lr, lu, li);
}

}  // namespace

CFKIT_AVX2 void half_to_float_f16c(const uint16_t* in, float* out, size_t n) {
  size_t d = 0;
  for (; d + 8 <= n; d += 8)
    _mm256_storeu_ps(out + d, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(in + d))));
  for (; d < n; ++d) out[d] = half_bits_to_float(in[d]);
}

CFKIT_AVX2 void float_to_half_f16c(const float* in, uint16_t* out, size_t n) {
  size_t d = 0;
  for (; d + 8 <= n; d += 8)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + d), _mm256_cvtps_ph(_mm256_loadu_ps(in + d), _MM_FROUND_TO_NEAREST_INT));
  for (; d < n; ++d) out[d] = float_to_half_bits(in[d]);
}

const KernelTable& avx2_table() {
  static const KernelTable t = {dot_avx2<float, float>,        update_avx2<float, float>,  step_avx2<float, float>,
                                step_avx2<uint16_t, uint16_t>, step_avx2<float, uint16_t>, step_avx2<uint16_t, float>,
                                run_for<Avx2Run, float>,       run_for<Avx2Run, uint16_t>};
  return t;
}

const KernelTable& avx512_table() {
  static const KernelTable t = {dot_avx512<float, float>,        update_avx512<float, float>,
                                step_avx512<float, float>,       step_avx512<uint16_t, uint16_t>,
                                step_avx512<float, uint16_t>,    step_avx512<uint16_t, float>,
                                run_for<Avx512Run, float>,       run_for<Avx512Run, uint16_t>};
  return t;
}

}  // namespace isa
}  // namespace mf
}  // namespace cfkit
#endif
