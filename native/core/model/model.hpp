// What every trained model offers the shared recommend / evaluate machinery: batch scoring of users
// given their input rows, and named float32 arrays for persistence.
#pragma once
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "sparse/csr.hpp"

namespace cfkit {

// One row's scores as the items it reaches, in ascending order, with their scores; every item not
// listed scores exactly 0.
struct SparseRow {
  std::vector<int32_t> items;
  std::vector<float> scores;
};

class Model {
 public:
  virtual ~Model() = default;
  virtual std::string type() const = 0;
  virtual int64_t num_items() const = 0;
  // Scores rows [begin, end) of `inputs` into out, row-major (end - begin) x num_items. `row_users`,
  // when given, holds the training-user index of every row (models with per-user parameters use it;
  // item-based models fold in from the inputs). Implementations must be safe to call concurrently
  // from several threads with disjoint outputs.
  virtual void score(const Csr& inputs, const int32_t* row_users, int64_t begin, int64_t end, float* out) const = 0;
  // Models whose rows reach few items (sparse weights) can list a row's nonzero scores: serving one
  // user then costs the items it reaches, not the catalogue. Returns false, with `out` unspecified,
  // when the row reaches too many items to be worth listing; score() then scores it densely.
  virtual bool has_sparse_rows() const { return false; }
  virtual bool score_sparse_row(const Csr& inputs, int64_t r, SparseRow& out) const { return false; }
  // About how long scoring `inputs` takes on one core, in nanoseconds, or infinity when the model
  // cannot tell cheaply. Serving calls estimated under a fraction of a millisecond run on the
  // caller's thread, where the hop to a worker thread would cost more than the work.
  virtual double estimated_ns(const Csr& inputs) const { return std::numeric_limits<double>::infinity(); }
  // Users with their own parameters (matrix factorization), or -1 when scores come from inputs only.
  virtual int64_t num_users() const { return -1; }
  // Items most similar to `item` by the model's own item-item relation, as a dense score row.
  virtual void item_similarity(int32_t item, float* out) const = 0;
  // Bytes of native memory held, for external-memory accounting.
  virtual int64_t memory_bytes() const = 0;
};

// Scores given explicitly by the caller (rows x items), so metrics can be computed for any model,
// including ones trained outside cfkit. Row r of `inputs` corresponds to scores row r.
class FixedScores : public Model {
 public:
  FixedScores(std::vector<float> scores, int64_t rows, int64_t items)
      : scores_(std::move(scores)), rows_(rows), items_(items) {}
  std::string type() const override { return "fixed"; }
  int64_t num_items() const override { return items_; }
  void score(const Csr& inputs, const int32_t* row_users, int64_t begin, int64_t end, float* out) const override;
  void item_similarity(int32_t item, float* out) const override;
  int64_t memory_bytes() const override { return static_cast<int64_t>(scores_.size() * sizeof(float)); }

 private:
  std::vector<float> scores_;
  int64_t rows_, items_;
};

}  // namespace cfkit
