// EASE^R (Steck, WWW'19): B = -P diag(1/diag P), P = (XᵀX + λI)^-1, diag(B) = 0.
#pragma once
#include <cstdint>
#include <vector>

#include "common/buffer.hpp"
#include "common/context.hpp"
#include "model/model.hpp"

namespace cfkit {

struct EaseOptions {
  double l2 = 500.0;
  bool float64 = false;  // factor and invert in double (the Gram is always accumulated in double)
};

class EaseModel : public Model {
 public:
  EaseModel(int64_t n_items, Buffer<float> weights);
  std::string type() const override { return "ease"; }
  int64_t num_items() const override { return n_; }
  void score(const Csr& inputs, const int32_t* row_users, int64_t begin, int64_t end, float* out) const override;
  void item_similarity(int32_t item, float* out) const override;
  double estimated_ns(const Csr& inputs) const override;
  int64_t memory_bytes() const override { return static_cast<int64_t>(b_.size() * sizeof(float)); }
  // Row-major n x n; row i holds the weights from input item i to every output item.
  const Buffer<float>& weights() const { return b_; }

 private:
  int64_t n_;
  Buffer<float> b_;
};

// XᵀX accumulated in double per row and stored row-major as T: the upper triangle (j >= i) holds
// the products, the strict lower triangle zeros. Rows are independent, so the result does not
// depend on the thread count. Progress goes to `stage` as fractions of `progress_share`, for callers
// that report the Gram product as part of a larger stage.
template <class T>
Buffer<T> gram_upper(const Csr& x, TrainContext& ctx, const char* stage = "gram", double progress_share = 1.0);

EaseModel fit_ease(const Csr& x, const EaseOptions& opts, TrainContext& ctx);

}  // namespace cfkit
