// SANSA: EASE approximated by a sparse LDLᵀ of XᵀX + λI and a sparse approximate inverse of L.
// The model is a two-layer sparse encoder/decoder: scores = (X·W₁)·W₂ with W₁ = Wᵀ and
// W₂ = D⁻¹W·diag(−1/diag(WᵀD⁻¹W)), W = M·P (ALGORITHMS.md §1.1).
#pragma once
#include <cstdint>
#include <memory>

#include "common/scratch_pool.hpp"

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
  bool has_sparse_rows() const override { return true; }
  bool score_sparse_row(const Csr& inputs, int64_t r, SparseRow& out) const override;
  void item_similarity(int32_t item, float* out) const override;
  double estimated_ns(const Csr& inputs) const override;
  int64_t memory_bytes() const override;
  const Csr& encoder() const { return encoder_; }
  const Csr& decoder() const { return decoder_; }

 private:
  // Accumulators left zeroed after every row: h over latent entries, s over items, and bits marking
  // the latent entries (and, for sparse rows, the items) a row reached.
  struct Scratch {
    std::vector<double> h, s;
    std::vector<uint64_t> latent_bits, item_bits;
    std::vector<int32_t> latent;
  };
  ScratchPool<Scratch>::Lease scratch() const;
  // The encoder pass of row r: h and scratch.latent (ascending) hold its latent entries. Returns the
  // decoder entries those reach.
  int64_t encode_row(const Csr& inputs, int64_t r, Scratch& w) const;

  Csr encoder_, decoder_;
  std::unique_ptr<ScratchPool<Scratch>> scratch_ = std::make_unique<ScratchPool<Scratch>>();
};

// The encoder and decoder from an LDLᵀ permutation, D and M ≈ L⁻¹ (by columns). M is consumed: it
// is released once the encoder holds its entries, so the peak holds two copies of the model, not three.
SansaModel sansa_weights(const std::vector<int64_t>& perm, const std::vector<double>& d, Csr m);

SansaModel fit_sansa(const Csr& x, const SansaOptions& opts, TrainContext& ctx, SansaStats* stats);

}  // namespace cfkit
