// Matrix factorization: the GPU trainer (fp32, fp16, MASCOT, pruned on tensor cores) against the CPU
// trainer on a synthetic low-rank set, and epochs timed on bench/mf.js's Netflix-shaped set. GPU
// Hogwild races on shared rows, so the twins agree in held-out RMSE, not bit for bit.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "checks.hpp"
#include "device/device_models.hpp"
#include "mf/mf.hpp"
#include "synthetic.hpp"

namespace cfkit_gpu_check {

namespace {

using cfkit::Csr;
using cfkit::MfOptions;
using cfkit::MfPrecision;

const char* precision_name(MfPrecision p) { return p == MfPrecision::Fp32 ? "fp32" : p == MfPrecision::Fp16 ? "fp16" : "mascot"; }

// test/gpu/cuda.test.ts's options for the low-rank sets.
MfOptions low_rank_options(int factors, MfPrecision precision) {
  MfOptions o;
  o.factors = factors;
  o.epochs = 60;
  o.lr_alpha = 0.02;
  o.lr_beta = 0.01;
  o.l2_user = o.l2_item = 0.01;
  o.init_std = 0.3;
  o.precision = precision;
  return o;
}

cfkit::MfTrainResult train(const Csr& ratings, const MfOptions& o, bool gpu, int threads) {
  cfkit::TrainContext ctx(threads, nullptr, nullptr);
  if (gpu) return cfkit::train_mf_on_device(ratings, nullptr, o, ctx, nullptr, cfkit::device::mf_device_train());
  return cfkit::train_mf(ratings, nullptr, o, ctx, nullptr);
}

// The standard deviation of the held-out ratings: what predicting their mean would score.
double spread(const Csr& m) {
  double s = 0, s2 = 0;
  for (float v : m.values) {
    s += v;
    s2 += double(v) * v;
  }
  const double n = double(m.values.size());
  return std::sqrt(std::max(0.0, s2 / n - (s / n) * (s / n)));
}

std::string rmse_note(const char* side, double rmse, double spread_) {
  char buf[120];
  std::snprintf(buf, sizeof buf, "%s held-out RMSE %.4f (the ratings' spread is %.3f)", side, rmse, spread_);
  return buf;
}

double median(std::vector<double> v) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

}  // namespace

void check_mf(Run& run) {
  const int threads = run.threads();
  {
    const RatingSplit data = low_rank_ratings(300, 150, 5);
    const double sd = spread(data.test);
    for (MfPrecision p : {MfPrecision::Fp32, MfPrecision::Fp16, MfPrecision::Mascot}) {
      const std::string name = std::string("mf.") + precision_name(p);
      const MfOptions o = low_rank_options(32, p);
      double cpu = NAN;
      // The CPU twin must have learnt the planted factors: predicting the mean would score the
      // ratings' spread, and it reaches about a sixth of it.
      run.check(name, Side::Cpu, [&] {
        cpu = cfkit::mf_rmse(*train(data.train, o, false, threads).model, data.test, threads);
        return Verdict{cpu <= 0.25 * sd, cpu, 0.25 * sd, rmse_note("CPU", cpu, sd)};
      });
      run.check(name, Side::Gpu, [&] {
        if (std::isnan(cpu)) return Verdict{false, NAN, NAN, "the CPU twin failed"};
        const cfkit::MfTrainResult r = train(data.train, o, true, threads);
        const double gpu = cfkit::mf_rmse(*r.model, data.test, threads);
        char buf[160];
        std::snprintf(buf, sizeof buf, "GPU RMSE %.4f against CPU %.4f (at most 0.005 above); %zu epochs", gpu, cpu, r.epochs.size());
        return Verdict{gpu - cpu <= 0.005 && r.epochs.size() == 60, gpu - cpu, 0.005, buf};
      });
    }
  }
  {
    const RatingSplit data = low_rank_ratings(300, 150, 6);
    MfOptions o = low_rank_options(64, MfPrecision::Fp16);
    o.prune_rate = 0.5;
    o.prune_rearrange_every = 5;
    double cpu = NAN, cpu_active = NAN;
    run.check("mf.pruned", Side::Cpu, [&] {
      const cfkit::MfTrainResult r = train(data.train, o, false, threads);
      cpu = cfkit::mf_rmse(*r.model, data.test, threads);
      cpu_active = r.epochs.back().mean_active_factors;
      char buf[160];
      std::snprintf(buf, sizeof buf, "CPU RMSE %.4f with %.1f of 64 factors active", cpu, cpu_active);
      return Verdict{cpu_active < 64 && std::isfinite(cpu), NAN, NAN, buf};
    });
    run.check("mf.pruned", Side::Gpu, [&] {
      if (std::isnan(cpu)) return Verdict{false, NAN, NAN, "the CPU twin failed"};
      const cfkit::MfTrainResult r = train(data.train, o, true, threads);
      const double gpu = cfkit::mf_rmse(*r.model, data.test, threads);
      const double active = r.epochs.back().mean_active_factors;
      const double bound = std::max(1.25 * cpu, cpu + 0.05);
      char buf[200];
      std::snprintf(buf, sizeof buf, "GPU RMSE %.4f (active %.1f) against CPU %.4f (active %.1f); RMSE at most %.4f, active within 8",
                    gpu, active, cpu, cpu_active, bound);
      return Verdict{gpu <= bound && active < 64 && std::abs(active - cpu_active) < 8, gpu - cpu, bound - cpu, buf};
    });
  }
}

void time_mf(Run& run) {
  const int threads = run.threads();
  const double t0 = now_seconds();
  const RatingSplit data = netflix_shaped(11);
  std::printf("      netflix-shaped set: %lld users x %lld items, %lld training and %lld held-out ratings (%.1f s to generate)\n",
              (long long)data.train.rows, (long long)data.train.cols, (long long)data.train.nnz(), (long long)data.test.nnz(),
              now_seconds() - t0);
  struct Config {
    const char* name;
    MfPrecision precision;
    double prune_rate;
  };
  // Pruning on the GPU keeps factors in fp16 for the tensor cores, so both twins prune fp16 rows.
  const Config configs[] = {{"fp32", MfPrecision::Fp32, 0}, {"fp16", MfPrecision::Fp16, 0}, {"mascot", MfPrecision::Mascot, 0},
                            {"pruned-0.5", MfPrecision::Fp16, 0.5}};
  const int epochs = 10;
  for (const Config& c : configs) {
    MfOptions o;
    o.factors = 128;
    o.epochs = epochs;
    o.precision = c.precision;
    o.prune_rate = c.prune_rate;
    const std::string name = std::string("mf.epochs.netflix-shaped.") + c.name;
    for (Side side : {Side::Cpu, Side::Gpu}) {
      if (side == Side::Gpu && !run.gpu()) {
        run.skip(name, side, run.gpu_reason());
        continue;
      }
      try {
        const double f0 = now_seconds();
        const cfkit::MfTrainResult r = train(data.train, o, side == Side::Gpu, threads);
        const double fit = now_seconds() - f0;
        std::vector<double> late;
        for (const cfkit::MfEpoch& e : r.epochs)
          if (e.epoch > 5) late.push_back(e.seconds);
        const double per_epoch = median(late);
        run.timing(name, side,
                   {{"epoch_s", per_epoch}, {"updates_per_s", double(data.train.nnz()) / per_epoch}, {"fit_s", fit},
                    {"test_rmse", cfkit::mf_rmse(*r.model, data.test, threads)}, {"epochs", double(epochs)},
                    {"active_factors", r.epochs.back().mean_active_factors}},
                   "k 128; epoch_s is the median of epochs 6-10");
      } catch (const std::exception& e) {
        run.check(name, side, [&] { return Verdict{false, NAN, NAN, std::string("training threw: ") + e.what()}; });
      }
    }
  }
}

}  // namespace cfkit_gpu_check
