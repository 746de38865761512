#include "infae/infae.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <string>

#include "common/error.hpp"
#include "common/timer.hpp"
#include "common/parallel.hpp"
#include "dense/lapack.hpp"
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
__attribute__((target_clones("avx512f", "avx2", "default"))) void ntk_row(float* row, int64_t count, double c_u,
                                                                          const double* c_v, double inv_items) {
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


// αᵀ[:, j0:j0+bw] += X_sᵀ·P[:, j0:j0+bw] for one column block (the whole loop nest in one clone,
// so the short inner loop inlines and vectorises).
#define CFKIT_ACCUMULATE_BLOCK(T)                                                                          \
  __attribute__((target_clones("avx512f", "avx2", "default"))) void accumulate_block(                    \
      const T* a, int64_t n, int64_t j0, int64_t bw, const Csr& xs, float* alpha_t) {                      \
    for (int64_t v = 0; v < n; ++v) {                                                                      \
      const T* src = a + v * n + j0;                                                                       \
      for (int64_t p = xs.indptr[v]; p < xs.indptr[v + 1]; ++p) {                                          \
        float* dst = alpha_t + int64_t(xs.indices[p]) * n + j0;                                            \
        const float w = xs.values[p];                                                                      \
        for (int64_t j = 0; j < bw; ++j) dst[j] += w * static_cast<float>(src[j]);                         \
      }                                                                                                    \
    }                                                                                                      \
  }
CFKIT_ACCUMULATE_BLOCK(float)
CFKIT_ACCUMULATE_BLOCK(double)
#undef CFKIT_ACCUMULATE_BLOCK

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
  const int64_t ns = support_.rows, ni = support_.cols, b = end - begin;
  std::vector<float> k(b * ns);
  kernel_rows(inputs, begin, end, k.data());
  // scores (b x items) = K (b x ns) · α (ns x items) = K · (αᵀ)ᵀ
  gemm_abt(b, ni, ns, k.data(), alpha_t_.data(), out);
}

void InfAeModel::item_similarity(int32_t item, float* out) const {
  score(one_hot_row(support_.cols, item), nullptr, 0, 1, out);
}

namespace {

template <class T>
Buffer<float> solve_alpha(const Buffer<float>& kernel, const Csr& xs, double lambda, TrainContext& ctx) {
  const int64_t n = xs.rows, ni = xs.cols;
  Buffer<T> a(n * n);
  double trace = 0;
  for (int64_t i = 0; i < n; ++i) trace += kernel[i * n + i];
  const double reg = std::fabs(lambda) * trace / double(n);
  parallel_chunks(n, 64, ctx.threads(), [&](int64_t b, int64_t e, int) {
    for (int64_t i = b; i < e; ++i)
      for (int64_t j = 0; j < n; ++j) a[i * n + j] = static_cast<T>(kernel[i * n + j]) + (i == j ? static_cast<T>(reg) : T(0));
  });
  ctx.check_abort();
  {
    lapack::BlasThreadsScope scope(ctx.threads());
    int info = lapack::potrf_lower(n, a.data());
    if (info != 0)
      fail(ErrorCode::Numeric, "∞-AE: the regularised kernel is not positive definite (λ = " + std::to_string(lambda) +
                                   "); use a larger λ or float64");
    ctx.check_abort();
    info = lapack::potri_lower(n, a.data());
    if (info != 0) fail(ErrorCode::Numeric, "∞-AE: inverting the kernel failed (info " + std::to_string(info) + ")");
  }
  ctx.check_abort();
  // P is valid in its row-major upper triangle; mirror it (tile by tile) so rows are whole.
  mirror_upper(a.data(), n, ctx);
  // αᵀ[item, :] = Σ over the item's support users v of P[v, :]  (α = P·X_s with X_s sparse). Work in
  // column blocks of 64: a block of αᵀ (items x 64 floats) stays in L2 while every support row adds
  // its 64-wide slice of P to the items it has; threads own disjoint blocks, so sums are ordered.
  Buffer<float> alpha_t(ni * n);
  const int64_t width = 64, blocks = (n + width - 1) / width;
  parallel_chunks(blocks, 1, ctx.threads(), [&](int64_t b0, int64_t b1, int) {
    for (int64_t blk = b0; blk < b1; ++blk) {
      const int64_t j0 = blk * width, bw = std::min(width, n - j0);
      for (int64_t i = 0; i < ni; ++i) std::fill(&alpha_t[i * n + j0], &alpha_t[i * n + j0] + bw, 0.f);
      accumulate_block(a.data(), n, j0, bw, xs, alpha_t.data());
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
  // Gram of the support rows: XXᵀ = (Xᵀ)ᵀ(Xᵀ), upper triangle in double per row.
  auto t0 = std::chrono::steady_clock::now();
  ctx.report("gram", 0);
  Buffer<float> k = gram_upper<float>(transpose(support), ctx);
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
      for (int64_t v = 0; v < u; ++v) row[v] = 0.f;  // lower half rebuilt below
    }
  });
  parallel_chunks(n, 64, ctx.threads(), [&](int64_t b, int64_t e, int) {
    for (int64_t u = b; u < e; ++u)
      for (int64_t v = 0; v < u; ++v) k[u * n + v] = k[v * n + u];
  });
  res.seconds_kernel = seconds_since(t0);
  ctx.check_abort();
  t0 = std::chrono::steady_clock::now();
  double best = -1;
  const size_t steps = opts.lambdas.size();
  for (size_t s = 0; s < steps; ++s) {
    const double lambda = opts.lambdas[s];
    ctx.report("solve", double(s) / double(steps));
    Buffer<float> alpha_t = opts.float64 ? solve_alpha<double>(k, support, lambda, ctx) : solve_alpha<float>(k, support, lambda, ctx);
    auto model = std::make_shared<InfAeModel>(support, std::move(alpha_t));
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
  res.seconds_solve = seconds_since(t0);
  ctx.report("solve", 1);
  return res;
}

}  // namespace cfkit
