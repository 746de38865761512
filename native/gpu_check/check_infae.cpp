// ∞-AE: the GPU solve against the CPU fit, the GPU scorer against the CPU scorer of the same α, and
// the fit timed on an ML-1M-shaped set. Tolerances are test/gpu/cuda.test.ts's.
#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "checks.hpp"
#include "device/device_models.hpp"
#include "infae/infae.hpp"
#include "synthetic.hpp"

namespace cfkit_gpu_check {

namespace {

using cfkit::Csr;
using cfkit::InfAeModel;

// The model's scores of every row of `rows`, in batches as the addon's recommend calls would send.
std::vector<float> all_scores(const cfkit::Model& model, const Csr& rows) {
  const int64_t items = model.num_items(), batch = 256;
  std::vector<float> out(size_t(rows.rows) * items);
  for (int64_t b = 0; b < rows.rows; b += batch) model.score(rows, nullptr, b, std::min(rows.rows, b + batch), &out[size_t(b) * items]);
  return out;
}

Csr every_nth_row(const Csr& m, int64_t step, int64_t count) {
  Csr out;
  out.rows = 0;
  out.cols = m.cols;
  out.indptr.push_back(0);
  for (int64_t r = 0; r < m.rows && out.rows < count; r += step, ++out.rows) {
    out.indices.insert(out.indices.end(), m.indices.begin() + m.indptr[r], m.indices.begin() + m.indptr[r + 1]);
    out.values.insert(out.values.end(), m.values.begin() + m.indptr[r], m.values.begin() + m.indptr[r + 1]);
    out.indptr.push_back(static_cast<int64_t>(out.indices.size()));
  }
  return out;
}

// The top k items of each row, the row's own items left out (as recommend does).
std::vector<std::vector<int32_t>> top_k(const std::vector<float>& scores, const Csr& rows, int k) {
  const int64_t items = rows.cols;
  std::vector<std::vector<int32_t>> out(rows.rows);
  std::vector<float> row(items);
  std::vector<int32_t> order(items);
  for (int64_t r = 0; r < rows.rows; ++r) {
    std::copy_n(&scores[size_t(r) * items], items, row.begin());
    for (int64_t p = rows.indptr[r]; p < rows.indptr[r + 1]; ++p) row[rows.indices[p]] = -std::numeric_limits<float>::infinity();
    for (int32_t i = 0; i < items; ++i) order[i] = i;
    std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int32_t a, int32_t b) { return row[a] > row[b] || (row[a] == row[b] && a < b); });
    out[r].assign(order.begin(), order.begin() + k);
  }
  return out;
}

double top_k_overlap(const std::vector<std::vector<int32_t>>& a, const std::vector<std::vector<int32_t>>& b) {
  size_t same = 0, total = 0;
  for (size_t r = 0; r < a.size(); ++r) {
    for (int32_t i : a[r]) same += std::count(b[r].begin(), b[r].end(), i);
    total += a[r].size();
  }
  return total ? double(same) / double(total) : 1.0;
}

// scores = K(rows, support)·α computed entry by entry in double from the NTK's definition: an
// independent reference for the CPU scorer.
std::vector<double> naive_scores(const InfAeModel& model, const Csr& rows) {
  const Csr& s = model.support();
  const int64_t ns = s.rows, ni = s.cols;
  std::vector<double> c(ns), out(size_t(rows.rows) * ni, 0.0), dense(ni);
  for (int64_t v = 0; v < ns; ++v) {
    double dot = 0;
    for (int64_t p = s.indptr[v]; p < s.indptr[v + 1]; ++p) dot += double(s.values[p]) * s.values[p];
    c[v] = cfkit::ntk_self(dot, ni);
  }
  for (int64_t r = 0; r < rows.rows; ++r) {
    std::fill(dense.begin(), dense.end(), 0.0);
    double self = 0;
    for (int64_t p = rows.indptr[r]; p < rows.indptr[r + 1]; ++p) {
      dense[rows.indices[p]] = rows.values[p];
      self += double(rows.values[p]) * rows.values[p];
    }
    const double cr = cfkit::ntk_self(self, ni);
    for (int64_t v = 0; v < ns; ++v) {
      double dot = 0;
      for (int64_t p = s.indptr[v]; p < s.indptr[v + 1]; ++p) dot += dense[s.indices[p]] * s.values[p];
      const double kv = cfkit::ntk_entry(dot, cr, c[v], ni);
      for (int64_t i = 0; i < ni; ++i) out[size_t(r) * ni + i] += kv * model.alpha_t()[size_t(i) * ns + v];
    }
  }
  return out;
}

cfkit::InfAeFitResult fit(const Csr& data, double lambda, bool float64, bool gpu, int threads) {
  cfkit::InfAeFitOptions o;
  o.lambdas = {lambda};
  o.float64 = float64;
  if (gpu) o.device_solve = cfkit::device::infae_device_solve();
  cfkit::TrainContext ctx(threads, nullptr, nullptr);
  return cfkit::fit_infae(data, o, nullptr, nullptr, ctx);
}

// A host-only copy of a model, so its α is scored by the CPU code.
std::shared_ptr<InfAeModel> host_copy(const InfAeModel& m) {
  cfkit::Buffer<float> alpha(m.alpha_t().size());
  std::copy_n(m.alpha_t().data(), m.alpha_t().size(), alpha.data());
  return std::make_shared<InfAeModel>(m.support(), std::move(alpha));
}

std::string scale_note(const Difference& d, double rel) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "max |Δ| %.3g against %.0e × max |score| %.3g", d.worst, rel, d.scale);
  return buf;
}

}  // namespace

void check_infae(Run& run) {
  const int threads = run.threads();
  // The solve: the GPU fit's scores against the CPU fit's, both float32 Cholesky solves of one system.
  {
    const Csr data = clustered_implicit(700, 150, 5, 12, 17);
    const Csr rows = every_nth_row(data, 13, 50);
    std::shared_ptr<InfAeModel> cpu;
    std::vector<float> cpu_scores;
    run.check("infae.solve", Side::Cpu, [&] {
      cpu = fit(data, 5, false, false, threads).model;
      cpu_scores = all_scores(*cpu, rows);
      const std::vector<float> f64 = all_scores(*fit(data, 5, true, false, threads).model, rows);
      const Difference d = largest_difference(f64, cpu_scores);
      return Verdict{d.worst <= 2e-3 * d.scale, d.worst, 2e-3 * d.scale, "float32 against float64 CPU fit; " + scale_note(d, 2e-3)};
    });
    run.check("infae.solve", Side::Gpu, [&] {
      if (!cpu) return Verdict{false, NAN, NAN, "the CPU twin failed"};
      auto gpu = fit(data, 5, false, true, threads).model;
      const std::vector<float> gpu_scores = all_scores(*gpu, rows);
      const Difference d = largest_difference(cpu_scores, gpu_scores);
      const double overlap = top_k_overlap(top_k(cpu_scores, rows, 10), top_k(gpu_scores, rows, 10));
      char buf[96];
      std::snprintf(buf, sizeof buf, "; top-10 overlap %.3f (at least 0.95)", overlap);
      return Verdict{d.worst <= 2e-3 * d.scale && overlap >= 0.95, d.worst, 2e-3 * d.scale, scale_note(d, 2e-3) + buf};
    });
  }
  // The batched scorer: one α scored by the GPU (two GEMMs and the NTK kernel) and by the CPU.
  {
    const Csr data = clustered_implicit(2600, 300, 6, 15, 5);
    run.check("infae.score", Side::Cpu, [&] {
      auto model = fit(data, 5, false, false, threads).model;
      const Csr rows = every_nth_row(data, 131, 20);
      const std::vector<float> got = all_scores(*model, rows);
      const std::vector<double> want = naive_scores(*model, rows);
      const Difference d = largest_difference(want, got);
      return Verdict{d.worst <= 1e-4 * d.scale, d.worst, 1e-4 * d.scale, "CPU scorer against the NTK·α in double; " + scale_note(d, 1e-4)};
    });
    run.check("infae.score", Side::Gpu, [&] {
      auto gpu = fit(data, 5, false, true, threads).model;
      auto cpu = host_copy(*gpu);
      gpu->set_device_score(cfkit::device::infae_device_score(*gpu));
      const std::vector<float> a = all_scores(*cpu, data), b = all_scores(*gpu, data);
      const Difference d = largest_difference(a, b);
      return Verdict{d.worst <= 1e-4 * d.scale, d.worst, 1e-4 * d.scale, "GPU scorer against the CPU scorer of the same α; " + scale_note(d, 1e-4)};
    });
  }
}

void time_infae(Run& run) {
  const int threads = run.threads();
  const Csr data = clustered_implicit(6040, 3706, 20, 165, 3);
  const Csr rows = every_nth_row(data, 30, 200);
  const double lambda = 5;
  cfkit::InfAeFitResult cpu;
  std::vector<float> cpu_scores;
  const auto figures = [&](const cfkit::InfAeFitResult& r, double seconds) {
    return Figures{{"fit_s", seconds}, {"gram_s", r.seconds_gram}, {"kernel_s", r.seconds_kernel}, {"solve_s", r.seconds_solve},
                   {"users", double(data.rows)}, {"items", double(data.cols)}, {"nnz", double(data.nnz())}};
  };
  try {
    const double t0 = now_seconds();
    cpu = fit(data, lambda, false, false, threads);
    run.timing("infae.fit.ml1m-shaped", Side::Cpu, figures(cpu, now_seconds() - t0), "float32, one λ");
    cpu_scores = all_scores(*cpu.model, rows);
  } catch (const std::exception& e) {
    run.skip("infae.fit.ml1m-shaped", Side::Cpu, std::string("the CPU fit threw: ") + e.what());
    return;
  }
  if (!run.gpu()) return run.skip("infae.fit.ml1m-shaped", Side::Gpu, run.gpu_reason());
  // The agreement at this size is a check too: the timed fit must be the right one.
  run.check("infae.fit.ml1m-shaped", Side::Gpu, [&] {
    fit(data, lambda, false, true, threads);  // warm-up: context, cuBLAS handles, first allocations
    const double t0 = now_seconds();
    cfkit::InfAeFitResult gpu = fit(data, lambda, false, true, threads);
    const double seconds = now_seconds() - t0;
    run.timing("infae.fit.ml1m-shaped", Side::Gpu, figures(gpu, seconds), "float32, one λ, after one warm-up fit");
    const Difference d = largest_difference(cpu_scores, all_scores(*gpu.model, rows));
    return Verdict{d.worst <= 2e-3 * d.scale, d.worst, 2e-3 * d.scale, scale_note(d, 2e-3)};
  });
}

}  // namespace cfkit_gpu_check
