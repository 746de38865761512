// Implicit ALS as Rendle et al. (2021) formulate it ("Revisiting the Performance of iALS on Item
// Recommendation Benchmarks"), after Hu, Koren & Volinsky (2008), solved row by row with conjugate
// gradient as Takács, Pilászy & Tikk (2011):
//
//   L(W, H) = Σ_{(u,i) observed} (w_u·h_i − 1)² + α₀ Σ_{u,i} (w_u·h_i)²
//             + λ Σ_u (|I_u| + α₀|I|)^ν ‖w_u‖² + λ Σ_i (|U_i| + α₀|U|)^ν ‖h_i‖²
//
// A sweep over users solves (Σ_{i∈I_u} h_i h_iᵀ + α₀ HᵀH + λ_u I) w_u = Σ_{i∈I_u} h_i for every u,
// with HᵀH computed once; then the same for items against W.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/context.hpp"
#include "model/model.hpp"
#include "sparse/csr.hpp"

namespace cfkit {

struct IalsOptions {
  int factors = 64;
  double l2 = 1e-3;                // λ
  double unobserved_weight = 0.1;  // α₀
  double reg_exponent = 1.0;       // ν: 0 is a plain ridge, 1 scales it with each row's weight
  int epochs = 16;
  int cg_steps = 3;  // per row and sweep, warm-started; 0 solves each row exactly (Cholesky)
  double init_std = 0.1;  // factors start N(0, (init_std/√k)²)
  uint64_t seed = 42;
};

struct IalsEpoch {
  int epoch = 0;
  double loss = 0;  // L(W, H) after the epoch
  double seconds = 0;
};

// The weighted least-squares system of one row, A x = b with
//   A = Σ_{j∈rows} f_j f_jᵀ + α₀ G + reg I,  b = Σ_{j∈rows} f_j,
// where f_j are k-vectors of the fixed side and G its Gramian (k x k, double, row-major).
struct IalsRow {
  const float* fixed;  // the fixed side's factors, rows x k, row-major
  const int32_t* rows;  // the row's observed partners
  int64_t count;
  const double* gram;
  double alpha0, reg;
  int k;
};

// Solves one row in place: x (k floats) is the warm start and the result. steps > 0: conjugate
// gradient from x, at most `steps` iterations; 0: exactly, by Cholesky. `scratch` holds 5k doubles
// (k² + 2k for the exact solve).
void ials_solve_row(const IalsRow& row, int steps, float* x, std::vector<double>& scratch);

// G = FᵀF for F (n x k, row-major), in double: blocks of rows added in order, one BLAS call each.
std::vector<double> ials_gramian(const float* f, int64_t n, int k);

class IalsModel : public Model {
 public:
  // w: users x k, h: items x k (row-major). The options' λ, α₀ and ν fold new users in.
  IalsModel(int64_t users, int64_t items, int k, std::vector<float> w, std::vector<float> h, double l2, double alpha0, double nu);
  std::string type() const override { return "ials"; }
  int64_t num_items() const override { return items_; }
  int64_t num_users() const override { return users_; }
  // Known users score by w_u·H; other rows fold in: their row's system solved exactly against H.
  void score(const Csr& inputs, const int32_t* row_users, int64_t begin, int64_t end, float* out) const override;
  // Cosine similarity of item factors.
  void item_similarity(int32_t item, float* out) const override;
  int64_t memory_bytes() const override { return static_cast<int64_t>((w_.size() + h_.size()) * 4 + gram_.size() * 8); }
  int factors() const { return k_; }
  const std::vector<float>& w() const { return w_; }
  const std::vector<float>& h() const { return h_; }

 private:
  int64_t users_, items_;
  int k_;
  std::vector<float> w_, h_;
  double l2_, alpha0_, nu_;
  std::vector<double> gram_;  // HᵀH, for fold-in
};

struct IalsTrainResult {
  std::shared_ptr<IalsModel> model;
  std::vector<IalsEpoch> epochs;
};

// x: users x items, implicit (every stored entry is an observation; values are ignored).
IalsTrainResult train_ials(const Csr& x, const IalsOptions& opts, TrainContext& ctx);

// L(W, H) for the factors of a model trained on x.
double ials_loss(const Csr& x, const Csr& xt, const std::vector<float>& w, const std::vector<float>& h, int k, const IalsOptions& o,
                 int threads);

}  // namespace cfkit
