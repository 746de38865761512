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

// The row's system on its fixed rows F (count x k row-major, i.e. a k x count column-major block),
// converted to double once: every product below is a BLAS call (OpenBLAS picks AVX2/AVX-512 kernels
// at run time, where this file is compiled for baseline x86-64).
struct RowSystem {
  const IalsRow& row;
  const double* f;  // count x k, row-major
  double* t;        // count

  // y = A x = α₀ G x + reg x + Fᵀ (F x)
  void apply(const double* x, double* y) const {
    const int k = row.k;
    lapack::dgemv(false, k, k, row.alpha0, row.gram, k, x, 0.0, y);
    for (int a = 0; a < k; ++a) y[a] += row.reg * x[a];
    if (row.count == 0) return;
    lapack::dgemv(true, k, row.count, 1.0, f, k, x, 0.0, t);
    lapack::dgemv(false, k, row.count, 1.0, f, k, t, 1.0, y);
  }

  void rhs(double* b) const {
    std::fill(b, b + row.k, 0.0);
    for (int64_t j = 0; j < row.count; ++j)
      for (int a = 0; a < row.k; ++a) b[a] += f[j * row.k + a];
  }
};

double dot(const double* a, const double* b, int k) {
  double s = 0;
  for (int i = 0; i < k; ++i) s += a[i] * b[i];
  return s;
}

// Copies the row's fixed rows into scratch as doubles; returns where the free scratch starts.
double* gather(const IalsRow& row, std::vector<double>& scratch, size_t extra) {
  const size_t fk = size_t(row.count) * row.k;
  scratch.resize(fk + size_t(row.count) + extra);
  double* f = scratch.data();
  for (int64_t j = 0; j < row.count; ++j) {
    const float* src = row.fixed + int64_t(row.rows[j]) * row.k;
    for (int a = 0; a < row.k; ++a) f[j * row.k + a] = src[a];
  }
  return f + fk + row.count;
}

void solve_exact(const IalsRow& row, float* x, std::vector<double>& scratch) {
  const int k = row.k;
  double* a = gather(row, scratch, size_t(k) * k + k);
  const RowSystem sys{row, scratch.data(), scratch.data() + size_t(row.count) * k};
  double* b = a + size_t(k) * k;
  for (int i = 0; i < k; ++i)
    for (int j = 0; j < k; ++j) a[size_t(i) * k + j] = row.alpha0 * row.gram[size_t(i) * k + j] + (i == j ? row.reg : 0.0);
  lapack::dsyrk_lower(k, row.count, 1.0, sys.f, k, 1.0, a, k);  // += Fᵀ F, lower triangle
  sys.rhs(b);
  // A singular system (λ = 0 and no data) keeps the warm start.
  if (lapack::potrf_lower(k, a) != 0 || lapack::potrs_lower(k, 1, a, b) != 0) return;
  for (int i = 0; i < k; ++i) x[i] = static_cast<float>(b[i]);
}

}  // namespace

void ials_solve_row(const IalsRow& row, int steps, float* x, std::vector<double>& scratch) {
  if (steps <= 0) return solve_exact(row, x, scratch);
  const int k = row.k;
  double* xd = gather(row, scratch, 5 * size_t(k));
  const RowSystem sys{row, scratch.data(), scratch.data() + size_t(row.count) * k};
  double *r = xd + k, *p = r + k, *ap = p + k, *b = ap + k;
  for (int i = 0; i < k; ++i) xd[i] = x[i];
  sys.rhs(b);
  sys.apply(xd, ap);
  for (int i = 0; i < k; ++i) p[i] = r[i] = b[i] - ap[i];
  double rr = dot(r, r, k);
  const double stop = 1e-20 * std::max(1.0, dot(b, b, k));
  for (int s = 0; s < steps && rr > stop; ++s) {
    sys.apply(p, ap);
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

std::vector<double> ials_gramian(const float* f, int64_t n, int k) {
  // Blocks of rows in double, added in order by one BLAS call each: the same bits on any thread count.
  constexpr int64_t kBlock = 512;
  std::vector<double> g(size_t(k) * k, 0.0), block(size_t(std::min(n, kBlock)) * k);
  for (int64_t r0 = 0; r0 < n; r0 += kBlock) {
    const int64_t rows = std::min(kBlock, n - r0);
    for (int64_t t = 0; t < rows * k; ++t) block[t] = f[r0 * k + t];
    lapack::dsyrk_lower(k, rows, 1.0, block.data(), k, 1.0, g.data(), k);
  }
  for (int col = 0; col < k; ++col)  // the upper triangle from the lower (column-major)
    for (int row = col + 1; row < k; ++row) g[size_t(row) * k + col] = g[size_t(col) * k + row];
  return g;
}

namespace {

// λ (count + α₀·others)^ν
double row_reg(double l2, double alpha0, double nu, int64_t count, int64_t others) {
  return l2 * std::pow(double(count) + alpha0 * double(others), nu);
}
double row_reg(const IalsOptions& o, int64_t count, int64_t others) { return row_reg(o.l2, o.unobserved_weight, o.reg_exponent, count, others); }

// One sweep: every row of `solved` (rows of x) against the fixed side.
void sweep(const Csr& x, const std::vector<float>& fixed, int64_t fixed_rows, std::vector<float>& solved, const IalsOptions& o, int k,
           TrainContext& ctx) {
  const std::vector<double> gram = ials_gramian(fixed.data(), fixed_rows, k);
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
  // α₀ Σ_{u,i} (w_u·h_i)² = α₀ ⟨WᵀW, HᵀH⟩: two Gramians instead of a k² product per user.
  const std::vector<double> gw = ials_gramian(w.data(), users, k), gh = ials_gramian(h.data(), items, k);
  double all_pairs = 0;
  for (size_t t = 0; t < gw.size(); ++t) all_pairs += gw[t] * gh[t];
  const int64_t chunks = std::max<int64_t>(1, std::min<int64_t>(users, 256));
  std::vector<double> part(chunks, 0.0);
  parallel_chunks(chunks, 1, threads, [&](int64_t c0, int64_t c1, int) {
    for (int64_t c = c0; c < c1; ++c) {
      double s = 0;
      for (int64_t u = users * c / chunks; u < users * (c + 1) / chunks; ++u) {
        const float* wu = &w[u * k];
        for (int64_t p = x.indptr[u]; p < x.indptr[u + 1]; ++p) {
          const double e = double(mf::dot(wu, &h[int64_t(x.indices[p]) * k], k)) - 1.0;
          s += e * e;
        }
        double n2 = 0;
        for (int a = 0; a < k; ++a) n2 += double(wu[a]) * wu[a];
        s += row_reg(o, x.row_size(u), items) * n2;
      }
      part[c] = s;
    }
  });
  double loss = o.unobserved_weight * all_pairs;
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
  lapack::BlasThreadsScope serial(1);
  gram_ = ials_gramian(h_.data(), items_, k_);
}

void IalsModel::score(const Csr& inputs, const int32_t* row_users, int64_t begin, int64_t end, float* out) const {
  std::vector<float> folded(k_);
  std::vector<double> scratch;
  for (int64_t r = begin; r < end; ++r) {
    const float* wu;
    if (row_users) {
      wu = &w_[int64_t(row_users[r]) * k_];
    } else {
      std::fill(folded.begin(), folded.end(), 0.f);
      const IalsRow row{h_.data(), inputs.indices.data() + inputs.indptr[r], inputs.row_size(r), gram_.data(), alpha0_,
                        row_reg(l2_, alpha0_, nu_, inputs.row_size(r), items_), k_};
      ials_solve_row(row, 0, folded.data(), scratch);
      wu = folded.data();
    }
    float* dst = out + (r - begin) * items_;
    for (int64_t i = 0; i < items_; ++i) dst[i] = mf::dot(wu, &h_[i * k_], k_);
  }
}

void IalsModel::item_similarity(int32_t item, float* out) const { mf::cosines(h_.data(), items_, k_, item, out); }

IalsTrainResult train_ials(const Csr& x, const IalsOptions& o, TrainContext& ctx) {
  const int64_t users = x.rows, items = x.cols;
  const int k = o.factors;
  require(users > 0 && items > 0 && x.nnz() > 0, "iALS: the interaction matrix is empty");
  require(k >= 1 && k <= 4096, "iALS: factors must be in [1, 4096]");
  require(o.epochs >= 1 && o.cg_steps >= 0, "iALS: epochs must be >= 1 and cgSteps >= 0");
  require(std::isfinite(o.l2) && o.l2 >= 0 && std::isfinite(o.unobserved_weight) && o.unobserved_weight >= 0 && std::isfinite(o.reg_exponent),
          "iALS: l2 and unobservedWeight must be finite and >= 0, regularizationExponent finite");
  const Csr xt = transpose(x);
  // The BLAS runs on one thread per call: cfkit's threads split the rows, so the bits do not depend on them.
  lapack::BlasThreadsScope serial(1);
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
