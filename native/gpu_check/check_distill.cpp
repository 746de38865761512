// DISTILL-CF: the GPU loss and gradient against the CPU's for the same Gumbel draws, the trajectory
// of a few Adam steps, and steps per second at the paper's 200 samples and 500 synthetic users.
// Tolerances are test/gpu/cuda.test.ts's (both sides compute in float64).
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "checks.hpp"
#include "device/device_models.hpp"
#include "infae/distill.hpp"
#include "synthetic.hpp"

namespace cfkit_gpu_check {

namespace {

using cfkit::Csr;

struct StepSetup {
  int64_t budget;
  int samples;
  double tau = 10, lambda = 1, cardinality_reg = 1e-3;
  uint64_t noise_seed = 99;
};

// Logits as distill() starts them: the binary rows of `budget` real users (here the first ones),
// plus a little noise so no two logits tie.
std::vector<double> start_logits(const Csr& real, int64_t budget, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 0.1);
  std::vector<double> logits(size_t(budget) * real.cols);
  for (double& v : logits) v = normal(rng);
  for (int64_t v = 0; v < budget; ++v)
    for (int64_t p = real.indptr[v]; p < real.indptr[v + 1]; ++p) logits[size_t(v) * real.cols + real.indices[p]] += 1.0;
  return logits;
}

double cpu_loss(const Csr& real, const std::vector<double>& logits, const StepSetup& s, std::vector<double>* grad, int threads) {
  cfkit::TrainContext ctx(threads, nullptr, nullptr);
  return cfkit::distill_loss(real, logits, s.budget, s.samples, s.tau, s.lambda, s.cardinality_reg, s.noise_seed, grad, ctx);
}

double norm(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x * x;
  return std::sqrt(s);
}

cfkit::DistillResult run_distill(const Csr& data, bool gpu, int threads) {
  cfkit::DistillOptions o;
  o.budget = 24;
  o.gumbel_samples = 6;
  o.steps = 6;
  o.eval_every = 3;
  o.seed = 4;
  if (gpu) o.device = cfkit::device::distill_device();
  cfkit::TrainContext ctx(threads, nullptr, nullptr);
  return cfkit::distill(data, nullptr, nullptr, o, ctx);
}

}  // namespace

void check_distill(Run& run) {
  const int threads = run.threads();
  const Csr data = clustered_implicit(400, 160, 4, 10, 21);
  const StepSetup setup{24, 6};
  const std::vector<double> logits = start_logits(data, setup.budget, 8);
  std::vector<double> cpu_grad;
  double cpu_value = NAN;
  // The CPU twin's gradient against central differences of its loss along a random direction.
  run.check("distill.gradient", Side::Cpu, [&] {
    cpu_value = cpu_loss(data, logits, setup, &cpu_grad, threads);
    std::mt19937_64 rng(3);
    std::normal_distribution<double> normal(0.0, 1.0);
    std::vector<double> dir(logits.size());
    for (double& d : dir) d = normal(rng);
    const double n = norm(dir);
    double along = 0;
    for (size_t q = 0; q < dir.size(); ++q) along += (dir[q] /= n) * cpu_grad[q];
    const double h = 1e-4;
    std::vector<double> plus(logits), minus(logits);
    for (size_t q = 0; q < dir.size(); ++q) {
      plus[q] += h * dir[q];
      minus[q] -= h * dir[q];
    }
    const double fd = (cpu_loss(data, plus, setup, nullptr, threads) - cpu_loss(data, minus, setup, nullptr, threads)) / (2 * h);
    const double tol = 1e-5 * norm(cpu_grad);
    return Verdict{std::abs(fd - along) <= tol, std::abs(fd - along), tol, "directional derivative against central differences (h 1e-4)"};
  });
  run.check("distill.gradient", Side::Gpu, [&] {
    if (cpu_grad.empty()) return Verdict{false, NAN, NAN, "the CPU twin failed"};
    cfkit::DistillDevice dev = cfkit::device::distill_device()(data, setup.budget);
    std::vector<double> grad;
    const double value = dev.loss(logits, setup.samples, setup.tau, setup.lambda, setup.cardinality_reg, setup.noise_seed, &grad);
    const double loss_rel = std::abs(value - cpu_value) / std::abs(cpu_value);
    const Difference d = largest_difference(cpu_grad, grad);
    char buf[200];
    std::snprintf(buf, sizeof buf, "gradient max |Δ| against 1e-7 × max |grad| %.3g; loss relative difference %.3g (at most 1e-9)",
                  d.scale, loss_rel);
    return Verdict{d.worst <= 1e-7 * d.scale && loss_rel <= 1e-9, d.worst, 1e-7 * d.scale, buf};
  });

  // Six Adam steps: the same draws on both sides, so the losses agree step by step; Adam carries
  // rounding forward, hence the looser bound after the first step.
  cfkit::DistillResult cpu;
  run.check("distill.trajectory", Side::Cpu, [&] {
    cpu = run_distill(data, false, threads);
    bool ok = cpu.loss.size() == 6 && cpu.synthetic.rows == 24 && cpu.best_step >= 1;
    for (double l : cpu.loss) ok = ok && std::isfinite(l);
    for (float v : cpu.synthetic.values) ok = ok && v > 0 && v <= 1;
    return Verdict{ok, NAN, NAN, "6 finite losses, 24 synthetic users with values in (0, 1]; first loss " + std::to_string(cpu.loss.empty() ? NAN : cpu.loss[0])};
  });
  run.check("distill.trajectory", Side::Gpu, [&] {
    if (cpu.loss.size() != 6) return Verdict{false, NAN, NAN, "the CPU twin failed"};
    const cfkit::DistillResult gpu = run_distill(data, true, threads);
    if (gpu.loss.size() != 6) return Verdict{false, NAN, NAN, "the GPU run has " + std::to_string(gpu.loss.size()) + " losses"};
    const double first = std::abs(gpu.loss[0] - cpu.loss[0]) / std::abs(cpu.loss[0]);
    double worst = 0;
    for (int t = 0; t < 6; ++t) worst = std::max(worst, std::abs(gpu.loss[t] - cpu.loss[t]) / std::abs(cpu.loss[t]));
    const bool same_rows = gpu.synthetic.indptr == cpu.synthetic.indptr;
    const Difference v = same_rows ? largest_difference(cpu.synthetic.values, gpu.synthetic.values) : Difference{INFINITY, 0};
    char buf[240];
    std::snprintf(buf, sizeof buf,
                  "worst relative loss difference over 6 steps (at most 1e-5); first step %.3g (at most 1e-9); best step %d vs %d; "
                  "synthetic values max |Δ| %.3g (at most 1e-4)",
                  first, gpu.best_step, cpu.best_step, v.worst);
    return Verdict{worst <= 1e-5 && first <= 1e-9 && gpu.best_step == cpu.best_step && same_rows && v.worst <= 1e-4, worst, 1e-5, buf};
  });
}

void time_distill(Run& run) {
  const int threads = run.threads();
  const Csr data = clustered_implicit(6040, 3706, 20, 165, 3);
  const StepSetup setup{500, 200};
  const std::vector<double> logits = start_logits(data, setup.budget, 8);
  std::vector<double> grad;
  double cpu_value = NAN;
  const auto figures = [&](double seconds) {
    return Figures{{"step_s", seconds}, {"steps_per_s", 1.0 / seconds}, {"budget", double(setup.budget)},
                   {"samples", double(setup.samples)}, {"users", double(data.rows)}, {"items", double(data.cols)}};
  };
  try {
    const double t0 = now_seconds();
    cpu_value = cpu_loss(data, logits, setup, &grad, threads);
    run.timing("distill.step.ml1m-shaped", Side::Cpu, figures(now_seconds() - t0), "loss and gradient, one step");
  } catch (const std::exception& e) {
    run.skip("distill.step.ml1m-shaped", Side::Cpu, std::string("the CPU step threw: ") + e.what());
    return;
  }
  run.check("distill.step.ml1m-shaped", Side::Gpu, [&] {
    cfkit::DistillDevice dev = cfkit::device::distill_device()(data, setup.budget);
    std::vector<double> g;
    dev.loss(logits, setup.samples, setup.tau, setup.lambda, setup.cardinality_reg, setup.noise_seed, &g);  // warm-up
    const int steps = 3;
    double value = 0;
    const double t0 = now_seconds();
    for (int s = 0; s < steps; ++s)
      value = dev.loss(logits, setup.samples, setup.tau, setup.lambda, setup.cardinality_reg, setup.noise_seed, &g);
    run.timing("distill.step.ml1m-shaped", Side::Gpu, figures((now_seconds() - t0) / steps), "loss and gradient, mean of 3 after a warm-up");
    const double rel = std::abs(value - cpu_value) / std::abs(cpu_value);
    return Verdict{rel <= 1e-9, rel, 1e-9, "relative loss difference against the CPU step"};
  });
}

}  // namespace cfkit_gpu_check
