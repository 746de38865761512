#include "mf/ials.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include "common/error.hpp"
#include "common/parallel.hpp"
#include "common/timer.hpp"
#include "dense/lapack.hpp"
#include "mf/mf_kernels.hpp"
#include "mf/mf_prep.hpp"

namespace cfkit {

namespace {

// y = A x for the row's system, in double: α₀ G x + reg x + Σ_j f_j (f_j·x).
void apply(const IalsRow& row, const double* x, double* y) {
  const int k = row.k;
  for (int a = 0; a < k; ++a) {
    const double* g = row.gram + int64_t(a) * k;
    double s = 0;
    for (int b = 0; b < k; ++b) s += g[b] * x[b];
    y[a] = row.alpha0 * s + row.reg * x[a];
  }
  for (int64_t t = 0; t < row.count; ++t) {
    const float* f = row.fixed + int64_t(row.rows[t]) * k;
    double d = 0;
    for (int a = 0; a < k; ++a) d += double(f[a]) * x[a];
    for (int a = 0; a < k; ++a) y[a] += d * f[a];
  }
}

void rhs(const IalsRow& row, double* b) {
  std::fill(b, b + row.k, 0.0);
  for (int64_t t = 0; t < row.count; ++t) {
    const float* f = row.fixed + int64_t(row.rows[t]) * row.k;
    for (int a = 0; a < row.k; ++a) b[a] += f[a];
  }
}

double dot(const double* a, const double* b, int k) {
  double s = 0;
  for (int i = 0; i < k; ++i) s += a[i] * b[i];
  return s;
}

void solve_exact(const IalsRow& row, float* x, std::vector<double>& scratch) {
  const int k = row.k;
  scratch.resize(size_t(k) * k + 2 * size_t(k));
  double* a = scratch.data();
  double* b = a + size_t(k) * k;
  for (int i = 0; i < k; ++i)
    for (int j = 0; j < k; ++j) a[size_t(i) * k + j] = row.alpha0 * row.gram[size_t(i) * k + j] + (i == j ? row.reg : 0.0);
  for (int64_t t = 0; t < row.count; ++t) {
    const float* f = row.fixed + int64_t(row.rows[t]) * k;
    for (int i = 0; i < k; ++i)
      for (int j = 0; j <= i; ++j) a[size_t(j) * k + i] += double(f[i]) * f[j];  // lower triangle, column-major
  }
  rhs(row, b);
  // A singular system (λ = 0 and no data) keeps the warm start.
  if (lapack::potrf_lower(k, a) != 0 || lapack::potrs_lower(k, 1, a, b) != 0) return;
  for (int i = 0; i < k; ++i) x[i] = static_cast<float>(b[i]);
}

}  // namespace

void ials_solve_row(const IalsRow& row, int steps, float* x, std::vector<double>& scratch) {
  if (steps <= 0) return solve_exact(row, x, scratch);
  const int k = row.k;
  scratch.resize(5 * size_t(k));
  double *xd = scratch.data(), *r = xd + k, *p = r + k, *ap = p + k, *b = ap + k;
  for (int i = 0; i < k; ++i) xd[i] = x[i];
  rhs(row, b);
  apply(row, xd, ap);
  for (int i = 0; i < k; ++i) p[i] = r[i] = b[i] - ap[i];
  double rr = dot(r, r, k);
  const double stop = 1e-20 * std::max(1.0, dot(b, b, k));
  for (int s = 0; s < steps && rr > stop; ++s) {
    apply(row, p, ap);
    const double pap = dot(p, ap, k);
    if (!(pap > 0)) break;
    const double alpha = rr / pap;
    for (int i = 0; i < k; ++i) {
      xd[i] += alpha * p[i];
      r[i] -= alpha * ap[i];
    }
    const double next = dot(r, r, k);
    const double beta = next / rr;
    rr = next;
    for (int i = 0; i < k; ++i) p[i] = r[i] + beta * p[i];
  }
  for (int i = 0; i < k; ++i) x[i] = static_cast<float>(xd[i]);
}

std::vector<double> ials_gramian(const float* f, int64_t n, int k, int threads) {
  // Each entry is one thread's sum over all rows in order, so the bits do not depend on threads.
  std::vector<double> g(size_t(k) * k, 0.0);
  parallel_chunks(k, 1, threads, [&](int64_t a0, int64_t a1, int) {
    for (int64_t a = a0; a < a1; ++a) {
      double* ga = g.data() + a * k;
      for (int64_t r = 0; r < n; ++r) {
        const float* fr = f + r * k;
        const double fa = fr[a];
        if (fa == 0.0) continue;
        for (int64_t b = 0; b <= a; ++b) ga[b] += fa * fr[b];
      }
    }
  });
  for (int a = 0; a < k; ++a)
    for (int b = a + 1; b < k; ++b) g[size_t(a) * k + b] = g[size_t(b) * k + a];
  return g;
}

namespace {

// λ (count + α₀·others)^ν
double row_reg(const IalsOptions& o, int64_t count, int64_t others) {
  return o.l2 * std::pow(double(count) + o.unobserved_weight * double(others), o.reg_exponent);
}

// One sweep: every row of `solved` (rows of x) against the fixed side.
void sweep(const Csr& x, const std::vector<float>& fixed, int64_t fixed_rows, std::vector<float>& solved, const IalsOptions& o, int k,
           TrainContext& ctx) {
  const std::vector<double> gram = ials_gramian(fixed.data(), fixed_rows, k, ctx.threads());
  parallel_chunks(x.rows, 64, ctx.threads(), [&](int64_t r0, int64_t r1, int) {
    ctx.check_abort();
    std::vector<double> scratch;
    for (int64_t r = r0; r < r1; ++r) {
      const IalsRow row{fixed.data(), x.indices.data() + x.indptr[r], x.row_size(r), gram.data(), o.unobserved_weight,
                        row_reg(o, x.row_size(r), fixed_rows), k};
      ials_solve_row(row, o.cg_steps, solved.data() + r * k, scratch);
    }
  });
}

}  // namespace

double ials_loss(const Csr& x, const Csr& xt, const std::vector<float>& w, const std::vector<float>& h, int k, const IalsOptions& o,
                 int threads) {
  const int64_t users = x.rows, items = x.cols;
  const std::vector<double> gh = ials_gramian(h.data(), items, k, threads);
  const int64_t chunks = std::max<int64_t>(1, std::min<int64_t>(users, 256));
  std::vector<double> part(chunks, 0.0);
  parallel_chunks(chunks, 1, threads, [&](int64_t c0, int64_t c1, int) {
    std::vector<double> gw(k);
    for (int64_t c = c0; c < c1; ++c) {
      double s = 0;
      for (int64_t u = users * c / chunks; u < users * (c + 1) / chunks; ++u) {
        const float* wu = &w[u * k];
        for (int64_t p = x.indptr[u]; p < x.indptr[u + 1]; ++p) {
          const double e = double(mf::dot(wu, &h[int64_t(x.indices[p]) * k], k)) - 1.0;
          s += e * e;
        }
        // α₀ Σ_i (w·h_i)² = α₀ wᵀ (HᵀH) w
        double q = 0, n2 = 0;
        for (int a = 0; a < k; ++a) {
          double t = 0;
          for (int b = 0; b < k; ++b) t += gh[size_t(a) * k + b] * wu[b];
          q += t * wu[a];
          n2 += double(wu[a]) * wu[a];
        }
        s += o.unobserved_weight * q + row_reg(o, x.row_size(u), items) * n2;
      }
      part[c] = s;
    }
  });
  double loss = 0;
  for (double v : part) loss += v;
  for (int64_t i = 0; i < items; ++i) {
    double n2 = 0;
    for (int a = 0; a < k; ++a) n2 += double(h[i * k + a]) * h[i * k + a];
    loss += row_reg(o, xt.row_size(i), users) * n2;
  }
  return loss;
}

IalsModel::IalsModel(int64_t users, int64_t items, int k, std::vector<float> w, std::vector<float> h, double l2, double alpha0, double nu)
    : users_(users), items_(items), k_(k), w_(std::move(w)), h_(std::move(h)), l2_(l2), alpha0_(alpha0), nu_(nu) {
  require(static_cast<int64_t>(w_.size()) == users_ * k_ && static_cast<int64_t>(h_.size()) == items_ * k_, "iALS factors have the wrong size");
  gram_ = ials_gramian(h_.data(), items_, k_, 1);
}

void IalsModel::score(const Csr& inputs, const int32_t* row_users, int64_t begin, int64_t end, float* out) const {
  std::vector<float> folded(k_);
  std::vector<double> scratch;
  IalsOptions o;
  o.l2 = l2_;
  o.unobserved_weight = alpha0_;
  o.reg_exponent = nu_;
  for (int64_t r = begin; r < end; ++r) {
    const float* wu;
    if (row_users) {
      wu = &w_[int64_t(row_users[r]) * k_];
    } else {
      std::fill(folded.begin(), folded.end(), 0.f);
      const IalsRow row{h_.data(), inputs.indices.data() + inputs.indptr[r], inputs.row_size(r), gram_.data(), alpha0_,
                        row_reg(o, inputs.row_size(r), items_), k_};
      ials_solve_row(row, 0, folded.data(), scratch);
      wu = folded.data();
    }
    float* dst = out + (r - begin) * items_;
    for (int64_t i = 0; i < items_; ++i) dst[i] = mf::dot(wu, &h_[i * k_], k_);
  }
}

void IalsModel::item_similarity(int32_t item, float* out) const {
  const float* hi = &h_[int64_t(item) * k_];
  const double ni = std::sqrt(double(mf::dot(hi, hi, k_)));
  for (int64_t j = 0; j < items_; ++j) {
    const float* hj = &h_[j * k_];
    const double nj = std::sqrt(double(mf::dot(hj, hj, k_)));
    out[j] = ni > 0 && nj > 0 ? static_cast<float>(mf::dot(hi, hj, k_) / (ni * nj)) : 0.f;
  }
}

IalsTrainResult train_ials(const Csr& x, const IalsOptions& o, TrainContext& ctx) {
  const int64_t users = x.rows, items = x.cols;
  const int k = o.factors;
  require(users > 0 && items > 0 && x.nnz() > 0, "iALS: the interaction matrix is empty");
  require(k >= 1 && k <= 4096, "iALS: factors must be in [1, 4096]");
  require(o.epochs >= 1 && o.cg_steps >= 0, "iALS: epochs must be >= 1 and cgSteps >= 0");
  require(std::isfinite(o.l2) && o.l2 >= 0 && std::isfinite(o.unobserved_weight) && o.unobserved_weight >= 0 && std::isfinite(o.reg_exponent),
          "iALS: l2 and unobservedWeight must be finite and >= 0, regularizationExponent finite");
  const Csr xt = transpose(x);
  // Each factor row has its own generator stream, so the start does not depend on threads.
  auto init = [&](std::vector<float>& f, int64_t rows, uint64_t side) {
    f.resize(size_t(rows) * k);
    const double sd = o.init_std / std::sqrt(double(k));
    parallel_chunks(rows, 1024, ctx.threads(), [&](int64_t r0, int64_t r1, int) {
      for (int64_t r = r0; r < r1; ++r) {
        mf::SplitMix rng = mf::SplitMix::stream(o.seed ^ side, uint64_t(r));
        for (int a = 0; a < k; a += 2) {  // Box-Muller: two normals per pair of uniforms
          const double u1 = std::max(rng.uniform(), 1e-300), u2 = rng.uniform();
          const double rad = std::sqrt(-2.0 * std::log(u1)), th = 6.283185307179586 * u2;
          f[size_t(r) * k + a] = static_cast<float>(sd * rad * std::cos(th));
          if (a + 1 < k) f[size_t(r) * k + a + 1] = static_cast<float>(sd * rad * std::sin(th));
        }
      }
    });
  };
  std::vector<float> w, h;
  init(w, users, 0x5553455253ull);  // "USERS"
  init(h, items, 0x4954454d53ull);  // "ITEMS"
  IalsTrainResult res;
  for (int e = 1; e <= o.epochs; ++e) {
    const auto start = std::chrono::steady_clock::now();
    sweep(x, h, items, w, o, k, ctx);
    sweep(xt, w, users, h, o, k, ctx);
    IalsEpoch ep;
    ep.epoch = e;
    ep.loss = ials_loss(x, xt, w, h, k, o, ctx.threads());
    ep.seconds = seconds_since(start);
    if (!std::isfinite(ep.loss)) fail(ErrorCode::Numeric, "iALS diverged at epoch " + std::to_string(e) + ": the loss is not finite");
    res.epochs.push_back(ep);
    ctx.report("epoch", double(e) / o.epochs, ep.loss, {{"epoch", double(e)}, {"seconds", ep.seconds}});
  }
  res.model = std::make_shared<IalsModel>(users, items, k, std::move(w), std::move(h), o.l2, o.unobserved_weight, o.reg_exponent);
  return res;
}

}  // namespace cfkit
