// DISTILL-CF (Sachdeva et al., 2022): learns `budget` synthetic users whose ∞-AE fit predicts the
// real users well. Gradients are derived by hand (adjoint equations in distill.cpp) and checked
// against finite differences in the tests.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "common/context.hpp"
#include "sparse/csr.hpp"

namespace cfkit {

// A GPU implementation of the two heavy pieces of a step, for one real matrix and budget (the addon
// builds it over libcfkit_cuda.so). `loss` has distill_loss's contract (noise seed included, so both
// draw the same numbers); `gumbel_sum` returns Σ_t S_t, budget x items row-major.
struct DistillDevice {
  std::function<double(const std::vector<double>& logits, int samples, double tau, double lambda, double cardinality_reg,
                       uint64_t noise_seed, std::vector<double>* grad)>
      loss;
  std::function<std::vector<double>(const std::vector<double>& logits, int samples, double tau, uint64_t noise_seed)> gumbel_sum;
};
using DistillDeviceFactory = std::function<DistillDevice(const Csr& real, int64_t budget)>;

struct DistillOptions {
  int budget = 500;           // synthetic users m
  int gumbel_samples = 200;   // T
  double tau = 10;            // Gumbel-softmax temperature
  int steps = 500;
  double lr = 0.04;           // Adam
  double cardinality_reg = 1e-3;
  uint64_t seed = 42;
  std::vector<double> lambdas = {1e-5, 1e-3, 0.1, 1, 5, 50};
  int eval_every = 25;
  double lambda = 1;          // used until the first evaluation
  DistillDeviceFactory device;  // empty: every step on the CPU
};

struct DistillResult {
  Csr synthetic;              // budget x items, values in (0, 1]
  double lambda = 0;          // λ chosen at the best evaluation
  double best_hr100 = -1;     // its validation HR@100 (or −loss without validation)
  int best_step = 0;
  std::vector<double> loss;   // per step
};

// Loss of the logits for one fixed set of Gumbel draws (seeded by `noise_seed`), and its gradient
// when `grad` is given. Exposed for the finite-difference test.
double distill_loss(const Csr& real, const std::vector<double>& logits, int64_t m, int samples, double tau, double lambda,
                    double cardinality_reg, uint64_t noise_seed, std::vector<double>* grad, TrainContext& ctx);

DistillResult distill(const Csr& real, const Csr* val_inputs, const Csr* val_targets, const DistillOptions& opts,
                      TrainContext& ctx);

}  // namespace cfkit
