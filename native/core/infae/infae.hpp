// ∞-AE (Sachdeva et al., NeurIPS'22): kernel ridge regression with the NTK of a one-hidden-layer
// ReLU autoencoder (σ_w² = 2, σ_b² = 0.01), solved in closed form (ALGORITHMS.md §3.1–3.2).
//
//   Σ0(u,v) = <x_u, x_v> / I,  Σ1 = 2Σ0 + 0.01,  c_u = Σ1(u,u),  θ = arccos(Σ1 / √(c_u c_v))
//   K(u,v)  = (1/π)[√(c_u c_v − Σ1²) + 2(π − θ)Σ1] + 0.01
//   α = (K_ss + λ·tr(K_ss)/n_s·I)⁻¹ X_s,  scores(U) = K(U, S)·α
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "common/buffer.hpp"
#include "common/context.hpp"
#include "model/model.hpp"
#include "sparse/csr.hpp"

namespace cfkit {

// Σ1 diagonal term c = 2·<x,x>/I + 0.01 of one row.
double ntk_self(double dot, int64_t n_items);
// K(u,v) from <x_u, x_v> and the two c's (reference implementation, double precision).
double ntk_entry(double dot, double c_u, double c_v, int64_t n_items);

// Scores rows [begin, end) of inputs into out ((end - begin) x items) somewhere else (the GPU);
// throws cfkit::Error on failure. Called from several threads at once.
using InfAeDeviceScore = std::function<void(const Csr& inputs, int64_t begin, int64_t end, float* out)>;

class InfAeModel : public Model {
 public:
  // support: n_s x items (binary rows), alpha_t: items x n_s (α transposed, row-major).
  InfAeModel(Csr support, Buffer<float> alpha_t);
  std::string type() const override { return "infae"; }
  int64_t num_items() const override { return support_.cols; }
  void score(const Csr& inputs, const int32_t* row_users, int64_t begin, int64_t end, float* out) const override;
  void item_similarity(int32_t item, float* out) const override;
  int64_t memory_bytes() const override;
  const Csr& support() const { return support_; }
  const Buffer<float>& alpha_t() const { return alpha_t_; }
  // Kernel rows K(rows of inputs [begin, end), support) into out ((end-begin) x n_s).
  void kernel_rows(const Csr& inputs, int64_t begin, int64_t end, float* out) const;
  // From here on score() runs on the device (the model keeps its host copy for saving).
  void set_device_score(InfAeDeviceScore f) { device_score_ = std::move(f); }
  bool scores_on_device() const { return static_cast<bool>(device_score_); }

 private:
  Csr support_;
  Csr support_t_;           // items x n_s
  std::vector<double> c_;   // Σ1(v,v) of every support row
  Buffer<float> alpha_t_;
  InfAeDeviceScore device_score_;
};

struct InfAeStepSeconds {
  double gram = 0, kernel = 0, solve = 0;
};

// Computes αᵀ (items x support users, row-major) for one λ somewhere else (the GPU), adding its step
// times to `seconds`; throws cfkit::Error on failure.
using InfAeDeviceSolve = std::function<Buffer<float>(const Csr& support, double lambda, InfAeStepSeconds& seconds)>;

struct InfAeFitOptions {
  std::vector<double> lambdas;  // one value, or a grid chosen by validation HR@100
  bool float64 = false;
  InfAeDeviceSolve device_solve;  // empty: the CPU path
};

struct InfAeGridPoint {
  double lambda = 0;
  double validation_hr100 = 0;
};

struct InfAeFitResult {
  std::shared_ptr<InfAeModel> model;
  double lambda = 0;
  std::vector<InfAeGridPoint> grid;
  double seconds_gram = 0, seconds_kernel = 0, seconds_solve = 0;
};

// Fits on the support rows; with several lambdas, `val_inputs`/`val_targets` (rows in any user
// space, items as the support's) select the λ with the best validation HR@100 (Liang recall).
InfAeFitResult fit_infae(const Csr& support, const InfAeFitOptions& opts, const Csr* val_inputs, const Csr* val_targets,
                         TrainContext& ctx);

}  // namespace cfkit
