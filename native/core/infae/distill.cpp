// Forward (per step, Gumbel draws G_t fixed by a seed):
//   S_t = softmax_rows((Λ + G_t)/τ),  Σ = Σ_t S_t,  X̃ = min(Σ, 1)                      (m x I)
//   D_ss = X̃X̃ᵀ, D_rs = X X̃ᵀ,  K = f(2D/I + 0.01, c_a, c_b),  c = 2·‖row‖²/I + 0.01  (NTK, see infae.hpp)
//   A = K_ss + λ·tr(K_ss)/m·I,  α = A⁻¹X̃,  P = K_rs α                                   (U x I)
//   L = (1/U) Σ_u [ −Σ_i x_ui·log softmax(P_u)_i ] + c_reg · mean_v Σ_i X̃_vi / (nnz(X)/U)
// Adjoint equations (d• = ∂L/∂•):
//   dP_u = (softmax(P_u)·Σ_i x_ui − x_u) / U
//   dα = K_rsᵀ dP,  dK_rs = dP αᵀ
//   B = A⁻¹ dα,  dX̃ += B,  dA = −B αᵀ,  dK_ss = dA + (λ/m)·tr(dA)·I
//   for each kernel entry K_ab = f(s, c_a, c_b) off the diagonal: dD_ab += dK_ab·f_s·2/I,
//     dc_a += dK_ab·f_ca, dc_b += dK_ab·f_cb;  diagonal K_vv = 2c_v + 0.01: dc_v += 2·dK_vv
//     with f_s = (2(π−θ) + s/√(ρ²−s²))/π, f_ρ = (ρ² − 2s²)/(πρ√(ρ²−s²)), ρ = √(c_a c_b),
//     f_ca = f_ρ·c_b/(2ρ), f_cb = f_ρ·c_a/(2ρ)
//   dD_ss[v][v] += dc_v·2/I;  dX̃ += (dD_ss + dD_ssᵀ) X̃ + dD_rsᵀ X + c_reg/(m·nnz(X)/U)
//   dΣ = dX̃ ⊙ [Σ < 1];  dΛ = Σ_t S_t ⊙ (dΣ − ⟨dΣ_v, S_t,v⟩) / τ
#include "infae/distill.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>

#include "common/error.hpp"
#include "common/parallel.hpp"
#include "dense/lapack.hpp"
#include "infae/distill_math.hpp"
#include "infae/infae.hpp"

extern "C" void dgemm_(const char*, const char*, const int*, const int*, const int*, const double*, const double*,
                       const int*, const double*, const int*, const double*, double*, const int*, size_t, size_t);

namespace cfkit {

namespace {

using distill_math::NtkPartials;
using distill_math::ntk_partials;

// Row-major C (M x N) = alpha·op(A)·op(B) + beta·C, through column-major dgemm (Cᵀ = op(B)ᵀ op(A)ᵀ).
void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, double alpha, const double* a, int64_t lda, const double* b,
          int64_t ldb, double beta, double* c, int64_t ldc) {
  const int m = int(N), n = int(M), k = int(K), la = int(lda), lb = int(ldb), lc = int(ldc);
  dgemm_(tb ? "T" : "N", ta ? "T" : "N", &m, &n, &k, &alpha, b, &lb, a, &la, &beta, c, &lc, 1, 1);
}

// Gumbel draws for row v of sample t of a step (distill_math.hpp: the GPU draws the same numbers).
void gumbel(uint64_t seed, int t, int64_t v, double* out, int64_t count) {
  for (int64_t q = 0; q < count; ++q) out[q] = distill_math::gumbel_noise(seed, t, v, q);
}

// Row softmax of (logits + g)/τ into s.
void softmax_row(const double* logits, const double* g, double tau, int64_t n, double* s) {
  double mx = -1e300;
  for (int64_t i = 0; i < n; ++i) mx = std::max(mx, (logits[i] + g[i]) / tau);
  double z = 0;
  for (int64_t i = 0; i < n; ++i) z += s[i] = std::exp((logits[i] + g[i]) / tau - mx);
  for (int64_t i = 0; i < n; ++i) s[i] /= z;
}

// Σ = Σ_t S_t for the step's draws.
std::vector<double> gumbel_sum(const std::vector<double>& logits, int64_t m, int64_t items, int samples, double tau,
                               uint64_t seed, TrainContext& ctx) {
  std::vector<double> sigma(m * items, 0.0);
  parallel_chunks(m, 1, ctx.threads(), [&](int64_t v0, int64_t v1, int) {
    std::vector<double> g(items), s(items);
    for (int64_t v = v0; v < v1; ++v)
      for (int t = 0; t < samples; ++t) {
        gumbel(seed, t, v, g.data(), items);
        softmax_row(&logits[v * items], g.data(), tau, items, s.data());
        for (int64_t i = 0; i < items; ++i) sigma[v * items + i] += s[i];
      }
  });
  return sigma;
}

}  // namespace

double distill_loss(const Csr& real, const std::vector<double>& logits, int64_t m, int samples, double tau, double lambda,
                    double cardinality_reg, uint64_t noise_seed, std::vector<double>* grad, TrainContext& ctx) {
  const int64_t I = real.cols, U = real.rows;
  require(static_cast<int64_t>(logits.size()) == m * I, "distill: logits must be budget x items");
  // --- forward ---
  std::vector<double> sigma = gumbel_sum(logits, m, I, samples, tau, noise_seed, ctx);
  std::vector<double> xs(m * I);
  for (int64_t q = 0; q < m * I; ++q) xs[q] = std::min(sigma[q], 1.0);
  std::vector<double> dss(m * m);
  gemm(false, true, m, m, I, 1.0, xs.data(), I, xs.data(), I, 0.0, dss.data(), m);
  std::vector<double> xst(I * m);  // X̃ᵀ
  for (int64_t v = 0; v < m; ++v)
    for (int64_t i = 0; i < I; ++i) xst[i * m + v] = xs[v * I + i];
  std::vector<double> drs(U * m, 0.0), creal(U);
  for (int64_t u = 0; u < U; ++u) {
    double r = 0;
    for (int64_t p = real.indptr[u]; p < real.indptr[u + 1]; ++p) {
      const double w = real.values[p];
      r += w * w;
      const double* src = &xst[int64_t(real.indices[p]) * m];
      for (int64_t v = 0; v < m; ++v) drs[u * m + v] += w * src[v];
    }
    creal[u] = 2.0 * r / double(I) + 0.01;
  }
  std::vector<double> cs(m);
  for (int64_t v = 0; v < m; ++v) cs[v] = 2.0 * dss[v * m + v] / double(I) + 0.01;
  std::vector<double> kss(m * m), krs(U * m);
  for (int64_t v = 0; v < m; ++v)
    for (int64_t w = 0; w < m; ++w)
      kss[v * m + w] = v == w ? 2.0 * cs[v] + 0.01 : ntk_partials(2.0 * dss[v * m + w] / I + 0.01, cs[v], cs[w]).f;
  for (int64_t u = 0; u < U; ++u)
    for (int64_t v = 0; v < m; ++v) krs[u * m + v] = ntk_partials(2.0 * drs[u * m + v] / I + 0.01, creal[u], cs[v]).f;
  double trace = 0;
  for (int64_t v = 0; v < m; ++v) trace += kss[v * m + v];
  const double reg = std::fabs(lambda) * trace / double(m);
  std::vector<double> chol(kss);
  for (int64_t v = 0; v < m; ++v) chol[v * m + v] += reg;
  if (lapack::potrf_lower(m, chol.data()) != 0) fail(ErrorCode::Numeric, "distill: the synthetic kernel is not positive definite");
  std::vector<double> alpha_t(xst);  // solve A αᵀ-columns: column-major m x I == row-major I x m
  if (lapack::potrs_lower(m, I, chol.data(), alpha_t.data()) != 0) fail(ErrorCode::Numeric, "distill: solve failed");
  std::vector<double> pred(U * I);
  gemm(false, true, U, I, m, 1.0, krs.data(), m, alpha_t.data(), m, 0.0, pred.data(), I);
  double loss = 0;
  std::vector<double> lse(U), rowsum(U);
  for (int64_t u = 0; u < U; ++u) {
    const double* pu = &pred[u * I];
    double mx = -1e300;
    for (int64_t i = 0; i < I; ++i) mx = std::max(mx, pu[i]);
    double z = 0;
    for (int64_t i = 0; i < I; ++i) z += std::exp(pu[i] - mx);
    lse[u] = mx + std::log(z);
    double xsum = 0, dot = 0;
    for (int64_t p = real.indptr[u]; p < real.indptr[u + 1]; ++p) {
      xsum += real.values[p];
      dot += real.values[p] * pu[real.indices[p]];
    }
    rowsum[u] = xsum;
    loss += (xsum * lse[u] - dot) / double(U);
  }
  const double density = double(real.nnz()) / double(U);
  double card = 0;
  for (double v : xs) card += v;
  loss += cardinality_reg * card / double(m) / density;
  if (!grad) return loss;

  // --- backward ---
  std::vector<double> dp(U * I);
  for (int64_t u = 0; u < U; ++u) {
    for (int64_t i = 0; i < I; ++i) dp[u * I + i] = std::exp(pred[u * I + i] - lse[u]) * rowsum[u] / double(U);
    for (int64_t p = real.indptr[u]; p < real.indptr[u + 1]; ++p) dp[u * I + real.indices[p]] -= real.values[p] / double(U);
  }
  std::vector<double> dalpha_t(I * m);  // (K_rsᵀ dP)ᵀ = dPᵀ K_rs
  gemm(true, false, I, m, U, 1.0, dp.data(), I, krs.data(), m, 0.0, dalpha_t.data(), m);
  std::vector<double> dkrs(U * m);
  gemm(false, false, U, m, I, 1.0, dp.data(), I, alpha_t.data(), m, 0.0, dkrs.data(), m);
  std::vector<double> b_t(dalpha_t);  // Bᵀ: A⁻¹ dα column by column
  if (lapack::potrs_lower(m, I, chol.data(), b_t.data()) != 0) fail(ErrorCode::Numeric, "distill: solve failed");
  std::vector<double> dxs_t(b_t);  // dX̃ᵀ, starts with B
  std::vector<double> dkss(m * m);
  gemm(true, false, m, m, I, -1.0, b_t.data(), m, alpha_t.data(), m, 0.0, dkss.data(), m);
  double tr_da = 0;
  for (int64_t v = 0; v < m; ++v) tr_da += dkss[v * m + v];
  for (int64_t v = 0; v < m; ++v) dkss[v * m + v] += std::fabs(lambda) / double(m) * tr_da;
  std::vector<double> ddss(m * m, 0.0), dcs(m, 0.0);
  for (int64_t v = 0; v < m; ++v)
    for (int64_t w = 0; w < m; ++w) {
      const double g = dkss[v * m + w];
      if (v == w) {
        dcs[v] += 2.0 * g;
        continue;
      }
      const NtkPartials pr = ntk_partials(2.0 * dss[v * m + w] / I + 0.01, cs[v], cs[w]);
      ddss[v * m + w] += g * pr.fs * 2.0 / I;
      dcs[v] += g * pr.fa;
      dcs[w] += g * pr.fb;
    }
  std::vector<double> ddrs(U * m);
  for (int64_t u = 0; u < U; ++u)
    for (int64_t v = 0; v < m; ++v) {
      const double g = dkrs[u * m + v];
      const NtkPartials pr = ntk_partials(2.0 * drs[u * m + v] / I + 0.01, creal[u], cs[v]);
      ddrs[u * m + v] = g * pr.fs * 2.0 / I;
      dcs[v] += g * pr.fb;
    }
  for (int64_t v = 0; v < m; ++v) ddss[v * m + v] += dcs[v] * 2.0 / I;
  std::vector<double> dsym(m * m);
  for (int64_t v = 0; v < m; ++v)
    for (int64_t w = 0; w < m; ++w) dsym[v * m + w] = ddss[v * m + w] + ddss[w * m + v];
  // dX̃ᵀ += X̃ᵀ·dsymᵀ = (dsym X̃)ᵀ  (dsym symmetric)
  gemm(false, false, I, m, m, 1.0, xst.data(), m, dsym.data(), m, 1.0, dxs_t.data(), m);
  for (int64_t u = 0; u < U; ++u)
    for (int64_t p = real.indptr[u]; p < real.indptr[u + 1]; ++p) {
      double* dst = &dxs_t[int64_t(real.indices[p]) * m];
      const double w = real.values[p];
      for (int64_t v = 0; v < m; ++v) dst[v] += w * ddrs[u * m + v];
    }
  const double dcard = cardinality_reg / double(m) / density;
  std::vector<double> dsigma(m * I);
  for (int64_t v = 0; v < m; ++v)
    for (int64_t i = 0; i < I; ++i) dsigma[v * I + i] = sigma[v * I + i] < 1.0 ? dxs_t[i * m + v] + dcard : 0.0;
  grad->assign(m * I, 0.0);
  parallel_chunks(m, 1, ctx.threads(), [&](int64_t v0, int64_t v1, int) {
    std::vector<double> g(I), s(I);
    for (int64_t v = v0; v < v1; ++v)
      for (int t = 0; t < samples; ++t) {
        gumbel(noise_seed, t, v, g.data(), I);
        softmax_row(&logits[v * I], g.data(), tau, I, s.data());
        const double* ds = &dsigma[v * I];
        double inner = 0;
        for (int64_t i = 0; i < I; ++i) inner += ds[i] * s[i];
        double* out = &(*grad)[v * I];
        for (int64_t i = 0; i < I; ++i) out[i] += s[i] * (ds[i] - inner) / tau;
      }
  });
  return loss;
}

DistillResult distill(const Csr& real, const Csr* val_inputs, const Csr* val_targets, const DistillOptions& o, TrainContext& ctx) {
  const int64_t I = real.cols, U = real.rows, m = o.budget;
  require(m >= 2 && m <= U, "distill: budget must be between 2 and the number of users");
  require(o.gumbel_samples >= 1 && o.steps >= 1 && o.tau > 0 && o.lr > 0, "distill: invalid options");
  require(!o.lambdas.empty(), "distill: no λ grid");
  lapack::BlasThreadsScope scope(ctx.threads());
  // Logits start as the binary rows of `budget` random real users.
  std::vector<int64_t> users(U);
  for (int64_t u = 0; u < U; ++u) users[u] = u;
  uint64_t state = o.seed * 0x9e3779b97f4a7c15ull + 7;
  for (int64_t u = U - 1; u > 0; --u) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    std::swap(users[u], users[state % uint64_t(u + 1)]);
  }
  std::vector<double> logits(m * I, 0.0), m1(m * I, 0.0), m2(m * I, 0.0), grad;
  for (int64_t v = 0; v < m; ++v)
    for (int64_t p = real.indptr[users[v]]; p < real.indptr[users[v] + 1]; ++p) logits[v * I + real.indices[p]] = 1.0;
  DistillDevice device;
  if (o.device) device = o.device(real, m);
  DistillResult res;
  double lambda = o.lambda, best = -1e300;
  const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
  for (int step = 1; step <= o.steps; ++step) {
    ctx.check_abort();
    const uint64_t noise = o.seed * 1000003ull + uint64_t(step);
    const double loss = device.loss ? device.loss(logits, o.gumbel_samples, o.tau, lambda, o.cardinality_reg, noise, &grad)
                                    : distill_loss(real, logits, m, o.gumbel_samples, o.tau, lambda, o.cardinality_reg, noise, &grad, ctx);
    res.loss.push_back(loss);
    for (int64_t q = 0; q < m * I; ++q) {
      m1[q] = b1 * m1[q] + (1 - b1) * grad[q];
      m2[q] = b2 * m2[q] + (1 - b2) * grad[q] * grad[q];
      const double mh = m1[q] / (1 - std::pow(b1, step)), vh = m2[q] / (1 - std::pow(b2, step));
      logits[q] -= o.lr * mh / (std::sqrt(vh) + eps);
    }
    const bool evaluate_now = step % std::max(1, o.eval_every) == 0 || step == o.steps;
    std::vector<std::pair<std::string, double>> fig = {{"step", double(step)}, {"lambda", lambda}};
    if (evaluate_now) {
      // One draw of the current synthetic data, scored by ∞-AE with λ re-chosen on the grid.
      std::vector<double> sigma = device.gumbel_sum ? device.gumbel_sum(logits, o.gumbel_samples, o.tau, noise + 7919)
                                                    : gumbel_sum(logits, m, I, o.gumbel_samples, o.tau, noise + 7919, ctx);
      Csr syn;
      syn.rows = m;
      syn.cols = I;
      syn.indptr.assign(m + 1, 0);
      for (int64_t v = 0; v < m; ++v) {
        for (int64_t i = 0; i < I; ++i) {
          const float val = static_cast<float>(std::min(sigma[v * I + i], 1.0));
          if (val > 0) {
            syn.indices.push_back(static_cast<int32_t>(i));
            syn.values.push_back(val);
          }
        }
        syn.indptr[v + 1] = static_cast<int64_t>(syn.indices.size());
      }
      double score;
      double chosen = lambda;
      if (val_inputs && val_targets) {
        InfAeFitOptions fo;
        fo.lambdas = o.lambdas;
        InfAeFitResult fit = fit_infae(syn, fo, val_inputs, val_targets, ctx);
        chosen = fit.lambda;
        score = -1;
        for (const auto& gp : fit.grid)
          if (gp.lambda == chosen) score = gp.validation_hr100;
      } else {
        score = -loss;
      }
      lambda = chosen;
      fig.push_back({"validationHr100", score});
      if (score > best) {
        best = score;
        res.synthetic = std::move(syn);
        res.lambda = chosen;
        res.best_hr100 = score;
        res.best_step = step;
      }
    }
    ctx.report("distill", double(step) / o.steps, loss, std::move(fig));
  }
  return res;
}

}  // namespace cfkit
