#include "infae/infae.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <functional>
#include <memory>
#include <string>
#include <cstring>

#include "common/error.hpp"
#include "common/timer.hpp"
#include "common/parallel.hpp"
#include "common/simd_clones.hpp"
#include "dense/lapack.hpp"
#include "dense/stepwise_inverse.hpp"
#include "ease/ease.hpp"
#include "eval/metrics.hpp"

extern "C" void sgemm_(const char*, const char*, const int*, const int*, const int*, const float*, const float*,
                       const int*, const float*, const int*, const float*, float*, const int*, size_t, size_t);

namespace cfkit {

namespace {

constexpr double kPi = 3.14159265358979323846;


// arccos on [0, 1] by Abramowitz & Stegun 4.4.46 (|error| <= 2e-8), branch-free so the kernel
// loop vectorises; the argument is never negative here (binary data, σ_b² > 0).
inline double acos01(double x) {
  const double p = ((((((-0.0012624911 * x + 0.0066700901) * x - 0.0170881256) * x + 0.0308918810) * x - 0.0501743046) * x +
                     0.0889789874) * x - 0.2145988016) * x + 1.5707963050;
  return std::sqrt(1.0 - x) * p;
}

// K from the dot products in place for a block of rows: entry (r, v) holds <x_r, x_v>.
CFKIT_SIMD_CLONES void ntk_row(float* row, int64_t count, double c_u, const double* c_v, double inv_items) {
  for (int64_t v = 0; v < count; ++v) {
    const double s1 = 2.0 * double(row[v]) * inv_items + 0.01;
    const double cc = c_u * c_v[v];
    const double root = std::sqrt(cc);
    double x = s1 / root;
    x = x > 1.0 ? 1.0 : x;
    const double theta = acos01(x);
    const double sine = root * std::sqrt(std::max(0.0, 1.0 - x * x));
    row[v] = static_cast<float>((sine + 2.0 * (kPi - theta) * s1) / kPi + 0.01);
  }
}


// α = P·X_s with X_s sparse is a gather, item by item: αᵀ[i, j0:j0+kStrip] = Σ over item i's support
// users v of P[v, j0:j0+kStrip]. The strip of P is packed first (n x kStrip floats, cache-line aligned,
// ~0.8 MB at n = 6,040) so the random row reads come from L2 without a TLB miss each, and each output
// slice is written once from registers. Explicit 8-wide vectors: GCC's auto-vectoriser turned the
// array form into scalar code.
constexpr int64_t kStrip = 32;
typedef float Float8 __attribute__((vector_size(32)));

#define CFKIT_PACK_STRIP(T)                                                                                \
  CFKIT_SIMD_CLONES void pack_strip(const T* p, int64_t n, int64_t j0, int64_t bw, float* strip) {       \
    for (int64_t v = 0; v < n; ++v) {                                                                      \
      const T* src = p + v * n + j0;                                                                       \
      float* dst = strip + v * kStrip;                                                                     \
      for (int64_t j = 0; j < kStrip; ++j) dst[j] = j < bw ? static_cast<float>(src[j]) : 0.f;             \
    }                                                                                                      \
  }
CFKIT_PACK_STRIP(float)
CFKIT_PACK_STRIP(double)
#undef CFKIT_PACK_STRIP

CFKIT_SIMD_CLONES void gather_strip(const float* strip, int64_t n, int64_t j0, int64_t bw, const Csr& xs_t, float* alpha_t) {
  constexpr int lanes = kStrip / 8;
  for (int64_t i = 0; i < xs_t.rows; ++i) {
    Float8 acc[lanes] = {};
    for (int64_t q = xs_t.indptr[i]; q < xs_t.indptr[i + 1]; ++q) {
      const Float8* src = reinterpret_cast<const Float8*>(strip + int64_t(xs_t.indices[q]) * kStrip);
      const float w = xs_t.values[q];
      for (int l = 0; l < lanes; ++l) acc[l] += w * src[l];
    }
    std::memcpy(alpha_t + i * n + j0, acc, sizeof(float) * bw);
  }
}

// Copies the row-major upper triangle onto the lower one, 64x64 tile by tile.
template <class T>
void mirror_upper(T* a, int64_t n, TrainContext& ctx) {
  const int64_t tile = 64, tiles = (n + tile - 1) / tile;
  parallel_chunks(tiles, 1, ctx.threads(), [&](int64_t tb, int64_t te, int) {
    for (int64_t ti = tb; ti < te; ++ti) {
      const int64_t i0 = ti * tile, i1 = std::min(n, i0 + tile);
      for (int64_t tj = 0; tj <= ti; ++tj) {
        const int64_t j0 = tj * tile, j1 = std::min(n, j0 + tile);
        for (int64_t i = i0; i < i1; ++i)
          for (int64_t j = j0; j < std::min(j1, i); ++j) a[i * n + j] = a[j * n + i];
      }
    }
  });
}


// out (rows x cols, row-major) = a (rows x k, row-major) · bᵀ where b is cols x k row-major.
void gemm_abt(int64_t rows, int64_t cols, int64_t k, const float* a, const float* b, float* out) {
  // Column-major view: outᵀ (cols x rows) = b (cols x k as k-major…) — expressed with Fortran sgemm:
  // C_cm(cols x rows) = B_cm(k x cols)ᵀ · A_cm(k x rows).
  const int m = static_cast<int>(cols), n = static_cast<int>(rows), kk = static_cast<int>(k);
  const float one = 1.f, zero = 0.f;
  sgemm_("T", "N", &m, &n, &kk, &one, b, &kk, a, &kk, &zero, out, &m, 1, 1);
}

}  // namespace

double ntk_self(double dot, int64_t n_items) { return 2.0 * dot / double(n_items) + 0.01; }

double ntk_entry(double dot, double c_u, double c_v, int64_t n_items) {
  const double s1 = 2.0 * dot / double(n_items) + 0.01;
  const double cc = c_u * c_v;
  const double theta = std::acos(std::min(1.0, s1 / std::sqrt(cc)));
  return (std::sqrt(std::max(0.0, cc - s1 * s1)) + 2.0 * (kPi - theta) * s1) / kPi + 0.01;
}

InfAeModel::InfAeModel(Csr support, Buffer<float> alpha_t)
    : support_(std::move(support)), support_t_(transpose(support_)), alpha_t_(std::move(alpha_t)) {
  require(alpha_t_.size() == 0 || static_cast<int64_t>(alpha_t_.size()) == support_.cols * support_.rows,
          "∞-AE weights must be items x support users");
  c_.resize(support_.rows);
  for (int64_t v = 0; v < support_.rows; ++v) {
    double dot = 0;
    for (int64_t p = support_.indptr[v]; p < support_.indptr[v + 1]; ++p) dot += double(support_.values[p]) * support_.values[p];
    c_[v] = ntk_self(dot, support_.cols);
  }
}

int64_t InfAeModel::memory_bytes() const {
  return static_cast<int64_t>(alpha_t_.size() * 4 + 2 * (support_.indices.size() * 8 + support_.indptr.size() * 8));
}

void InfAeModel::kernel_rows(const Csr& inputs, int64_t begin, int64_t end, float* out) const {
  const int64_t ns = support_.rows, ni = support_.cols;
  std::vector<double> dots(ns);
  for (int64_t r = begin; r < end; ++r) {
    std::fill(dots.begin(), dots.end(), 0.0);
    double self = 0;
    for (int64_t p = inputs.indptr[r]; p < inputs.indptr[r + 1]; ++p) {
      const int32_t i = inputs.indices[p];
      const double xi = inputs.values[p];
      self += xi * xi;
      for (int64_t q = support_t_.indptr[i]; q < support_t_.indptr[i + 1]; ++q) dots[support_t_.indices[q]] += xi * support_t_.values[q];
    }
    float* row = out + (r - begin) * ns;
    for (int64_t v = 0; v < ns; ++v) row[v] = static_cast<float>(dots[v]);
    ntk_row(row, ns, ntk_self(self, ni), c_.data(), 1.0 / double(ni));
  }
}

void InfAeModel::score(const Csr& inputs, const int32_t*, int64_t begin, int64_t end, float* out) const {
  if (device_score_) return device_score_(inputs, begin, end, out);
  const int64_t ns = support_.rows, ni = support_.cols, b = end - begin;
  std::vector<float> k(b * ns);
  kernel_rows(inputs, begin, end, k.data());
  // scores (b x items) = K (b x ns) · α (ns x items) = K · (αᵀ)ᵀ
  gemm_abt(b, ni, ns, k.data(), alpha_t_.data(), out);
}

void InfAeModel::item_similarity(int32_t item, float* out) const {
  score(one_hot_rows(support_.cols, {item}), nullptr, 0, 1, out);
}

namespace {

// A λ so large that α = (K + reg·I)⁻¹X underflows float32 (λ = 1e39 gives |α| ~ 1e-39) makes every
// score 0, and an overflow makes them NaN: either way the fit must fail rather than return a model.
void require_usable_alpha(const Buffer<float>& alpha_t, double lambda) {
  bool nonzero = false, finite = true;
  for (size_t q = 0; q < alpha_t.size(); ++q) {
    finite = finite && std::isfinite(alpha_t[q]);
    nonzero = nonzero || alpha_t[q] != 0.f;
  }
  if (finite && nonzero) return;
  char why[200];
  if (!finite) std::snprintf(why, sizeof why, "∞-AE: the solve for λ = %g gave non-finite weights", lambda);
  else std::snprintf(why, sizeof why, "∞-AE: λ = %g is so large that every weight underflows to 0 (every score would be 0); use a smaller λ", lambda);
  fail(ErrorCode::Numeric, why);
}

double regulariser(const Buffer<float>& kernel, int64_t n, double lambda) {
  double trace = 0;
  for (int64_t i = 0; i < n; ++i) trace += kernel[i * n + i];
  return std::fabs(lambda) * trace / double(n);
}

// K + reg·I in T. Only the row-major upper triangle is copied: it is LAPACK's column-major lower one,
// the only part potrf and potri read or write.
template <class T>
Buffer<T> regularised_copy(const Buffer<float>& kernel, int64_t n, double lambda, TrainContext& ctx) {
  Buffer<T> a(n * n);
  const double reg = regulariser(kernel, n, lambda);
  parallel_chunks(n, 64, ctx.threads(), [&](int64_t b, int64_t e, int) {
    for (int64_t i = b; i < e; ++i) {
      for (int64_t j = i; j < n; ++j) a[i * n + j] = static_cast<T>(kernel[i * n + j]);
      a[i * n + i] += static_cast<T>(reg);
    }
  });
  return a;
}

// Solves (K + reg·I)α = X_s in place in `a` (which holds K + reg·I, upper triangle row-major) and
// returns αᵀ (items x support users).
template <class T>
Buffer<float> solve_alpha(Buffer<T> a, const Csr& xs, double lambda, TrainContext& ctx) {
  const int64_t n = xs.rows, ni = xs.cols;
  ctx.check_abort();
  {
    lapack::BlasThreadsScope scope(ctx.threads());
    // Stepwise, so an abort is honoured between BLAS calls (tens of ms) rather than after potrf/potri.
    const auto between = [&](double) { ctx.check_abort(); };
    int info = cholesky_lower_stepwise(n, a.data(), between);
    if (info != 0)
      fail(ErrorCode::Numeric, "∞-AE: the regularised kernel is not positive definite (λ = " + std::to_string(lambda) +
                                   "); use a larger λ or float64");
    info = inverse_from_cholesky_stepwise(n, a.data(), between);
    if (info != 0) fail(ErrorCode::Numeric, "∞-AE: inverting the kernel failed (info " + std::to_string(info) + ")");
  }
  ctx.check_abort();
  // P is valid in its row-major upper triangle; mirror it (tile by tile) so rows are whole.
  mirror_upper(a.data(), n, ctx);
  // α = P·X_s with X_s sparse, built item by item from X_sᵀ; threads own disjoint strips of columns.
  const Csr xs_t = transpose(xs);
  Buffer<float> alpha_t(ni * n);
  const int64_t strips = (n + kStrip - 1) / kStrip;
  parallel_chunks(strips, 1, ctx.threads(), [&](int64_t s0, int64_t s1, int) {
    Buffer<float> packed(n * kStrip + 16);
    float* strip = packed.data() + (16 - (reinterpret_cast<uintptr_t>(packed.data()) / sizeof(float)) % 16) % 16;
    for (int64_t s = s0; s < s1; ++s) {
      const int64_t j0 = s * kStrip, bw = std::min(kStrip, n - j0);
      pack_strip(a.data(), n, j0, bw, strip);
      gather_strip(strip, n, j0, bw, xs_t, alpha_t.data());
    }
  });
  ctx.check_abort();
  return alpha_t;
}

}  // namespace

InfAeFitResult fit_infae(const Csr& support, const InfAeFitOptions& opts, const Csr* val_inputs, const Csr* val_targets,
                         TrainContext& ctx) {
  const int64_t n = support.rows, ni = support.cols;
  require(n > 0 && ni > 0 && support.nnz() > 0, "∞-AE: the support matrix is empty");
  require(!opts.lambdas.empty(), "∞-AE: no λ given");
  for (double l : opts.lambdas) require(std::isfinite(l), "∞-AE: λ must be finite");
  require(opts.lambdas.size() == 1 || (val_inputs && val_targets), "∞-AE: a λ grid needs validation data");
  InfAeFitResult res;
  const size_t steps = opts.lambdas.size();
  std::function<Buffer<float>(size_t)> alpha_for;
  Buffer<float> k;
  if (opts.device_solve) {
    alpha_for = [&](size_t s) {
      InfAeStepSeconds sec;
      Buffer<float> alpha_t = opts.device_solve(support, opts.lambdas[s], sec);
      res.seconds_gram += sec.gram;
      res.seconds_kernel += sec.kernel;
      res.seconds_solve += sec.solve;
      return alpha_t;
    };
  } else {
    // Gram of the support rows: XXᵀ = (Xᵀ)ᵀ(Xᵀ), upper triangle in double per row.
    auto t0 = std::chrono::steady_clock::now();
    ctx.report("gram", 0);
    k = gram_upper<float>(transpose(support), ctx);
    res.seconds_gram = seconds_since(t0);
    ctx.check_abort();
    t0 = std::chrono::steady_clock::now();
    ctx.report("kernel", 0);
    std::vector<double> c(n);
    for (int64_t u = 0; u < n; ++u) c[u] = ntk_self(k[u * n + u], ni);
    parallel_chunks(n, 32, ctx.threads(), [&](int64_t b, int64_t e, int) {
      for (int64_t u = b; u < e; ++u) {
        float* row = &k[u * n];
        ntk_row(row + u, n - u, c[u], c.data() + u, 1.0 / double(ni));
      }
    });
    res.seconds_kernel = seconds_since(t0);
    ctx.check_abort();
    alpha_for = [&](size_t s) {
      const double lambda = opts.lambdas[s];
      const auto t = std::chrono::steady_clock::now();
      Buffer<float> alpha_t;
      if (opts.float64) {
        alpha_t = solve_alpha(regularised_copy<double>(k, n, lambda, ctx), support, lambda, ctx);
      } else if (steps == 1) {
        // One λ: factor K itself (n² floats fewer at the peak) instead of a copy.
        const double reg = regulariser(k, n, lambda);
        for (int64_t i = 0; i < n; ++i) k[i * n + i] += static_cast<float>(reg);
        alpha_t = solve_alpha(std::move(k), support, lambda, ctx);
      } else {
        alpha_t = solve_alpha(regularised_copy<float>(k, n, lambda, ctx), support, lambda, ctx);
      }
      res.seconds_solve += seconds_since(t);
      return alpha_t;
    };
  }
  double best = -1;
  for (size_t s = 0; s < steps; ++s) {
    const double lambda = opts.lambdas[s];
    ctx.report("solve", double(s) / double(steps));
    Buffer<float> alpha_t = alpha_for(s);
    require_usable_alpha(alpha_t, lambda);
    auto model = std::make_shared<InfAeModel>(support, std::move(alpha_t));
    ctx.check_abort();
    if (steps == 1) {
      res.model = model;
      res.lambda = lambda;
      break;
    }
    std::vector<MetricSpec> hr = {{MetricKind::RecallLiang, 100}};
    EvalResult ev = evaluate(*model, *val_inputs, *val_targets, hr, nullptr, ctx);
    double sum = 0;
    int64_t cnt = 0;
    for (int64_t r = 0; r < ev.users; ++r)
      if (ev.valid[r]) {
        sum += ev.per_user[r];
        ++cnt;
      }
    const double hr100 = cnt ? sum / double(cnt) : 0.0;
    res.grid.push_back({lambda, hr100});
    if (hr100 > best) {
      best = hr100;
      res.model = model;
      res.lambda = lambda;
    }
  }
  ctx.report("solve", 1);
  return res;
}

}  // namespace cfkit
