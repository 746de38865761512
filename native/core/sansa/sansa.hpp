// SANSA: EASE approximated by a sparse LDLᵀ of XᵀX + λI and a sparse approximate inverse of L.
// The model is a two-layer sparse encoder/decoder: scores = (X·W₁)·W₂ with W₁ = Wᵀ and
// W₂ = D⁻¹W·diag(−1/diag(WᵀD⁻¹W)), W = M·P (ALGORITHMS.md §1.1).
#pragma once
#include <cstdint>

#include "common/context.hpp"
#include "model/model.hpp"
#include "sansa/options.hpp"
#include "sparse/csr.hpp"

namespace cfkit {

class SansaModel : public Model {
 public:
  // encoder: items x n (CSR), decoder: n x items (CSR), both float32.
  SansaModel(Csr encoder, Csr decoder);
  std::string type() const override { return "sansa"; }
  int64_t num_items() const override { return encoder_.rows; }
  void score(const Csr& inputs, const int32_t* row_users, int64_t begin, int64_t end, float* out) const override;
  void item_similarity(int32_t item, float* out) const override;
  int64_t memory_bytes() const override;
  const Csr& encoder() const { return encoder_; }
  const Csr& decoder() const { return decoder_; }

 private:
  Csr encoder_, decoder_;
};

// The encoder and decoder from an LDLᵀ permutation, D and M ≈ L⁻¹ (by columns). M is consumed: it
// is released once the encoder holds its entries, so the peak holds two copies of the model, not three.
SansaModel sansa_weights(const std::vector<int64_t>& perm, const std::vector<double>& d, Csr m);

SansaModel fit_sansa(const Csr& x, const SansaOptions& opts, TrainContext& ctx, SansaStats* stats);

}  // namespace cfkit
