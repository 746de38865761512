// Matrix factorization by SGD (r̂_ui = p_u·q_i): plain fp32, fp16 parameter storage, MASCOT's per-group
// precision switching (ICDM'21) and dynamic latent pruning (arXiv 2404.04265), one trainer.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/context.hpp"
#include "common/row_allocator.hpp"
#include "mf/mf_prep.hpp"
#include "model/model.hpp"
#include "sparse/csr.hpp"

namespace cfkit {

enum class MfPrecision { Fp32, Fp16, Mascot };

struct MfOptions {
  int factors = 128;
  int epochs = 20;
  double lr_alpha = 0.02;   // η_t = α / (1 + β·t^1.5), t = epoch
  double lr_beta = 0.05;
  double l2_user = 0.045, l2_item = 0.045;
  double init_std = 0.02;   // N(0, init_std²)
  bool init_uniform = false; // U(0, init_scale·√(1/k)) as cuMF_SGD instead
  double init_scale = 1.0;
  uint64_t seed = 42;
  MfPrecision precision = MfPrecision::Fp32;
  int mascot_user_groups = 100, mascot_item_groups = 100;
  int mascot_interval = 2;          // error estimation every this many epochs, from epoch 5
  double mascot_sample_ratio = 0.05; // share of each block's updates sampled for the error
  double mascot_threshold = 20;     // normalised q-error above which a group switches to fp32
  bool center = false;              // learn r − μ (μ = mean training rating) and predict μ + p·q
  double prune_rate = 0;            // share of stored factors cut at each rearrangement (mf_pruning.hpp)
  int prune_rearrange_every = 5;    // epochs between rearrangements
  int blocks = 0;                   // grid side B (0: chosen from the cache size and rating count, mf.cpp)
};

struct MfEpoch {
  int epoch = 0;
  double train_rmse = 0, valid_rmse = -1, seconds = 0, lr = 0;
  int groups_switched = 0;  // cumulative fp16 → fp32 switches (MASCOT)
  double mean_active_factors = 0;  // average factors touched per update (pruning)
};

class MfModel : public Model {
 public:
  // p: users x k, q: items x k (row-major). fold_in_l2 (per rating) regularises the fold-in of new users.
  MfModel(int64_t users, int64_t items, int k, std::vector<float> p, std::vector<float> q, double fold_in_l2, double mean);
  std::string type() const override { return "mf"; }
  int64_t num_items() const override { return items_; }
  int64_t num_users() const override { return users_; }
  // Known users (row_users given) score by p_u·Q; other rows fold in: p = argmin Σ (r − p·q_i)² + λ‖p‖²
  // over the row's rated items, then p·Q.
  void score(const Csr& inputs, const int32_t* row_users, int64_t begin, int64_t end, float* out) const override;
  // Cosine similarity of item factors.
  void item_similarity(int32_t item, float* out) const override;
  int64_t memory_bytes() const override { return static_cast<int64_t>((p_.size() + q_.size()) * 4); }
  float predict(int64_t u, int64_t i) const;
  int factors() const { return k_; }
  double fold_in_l2() const { return fold_in_l2_; }
  double mean() const { return mean_; }
  const std::vector<float>& p() const { return p_; }
  const std::vector<float>& q() const { return q_; }

 private:
  int64_t users_, items_;
  int k_;
  std::vector<float> p_, q_;
  double fold_in_l2_;
  double mean_;  // added to every prediction (0 when the model was trained uncentred)
};

struct MfTrainResult {
  std::shared_ptr<MfModel> model;
  std::vector<MfEpoch> epochs;
  int groups_total = 0;
  std::vector<int> dimension_order;  // final latent permutation (pruning), identity otherwise
};

// ratings: users x items with explicit values; valid may be null.
MfTrainResult train_mf(const Csr& ratings, const Csr* valid, const MfOptions& opts, TrainContext& ctx,
                       const std::function<void(const MfEpoch&)>& on_epoch);

double mf_rmse(const MfModel& m, const Csr& ratings, int threads);

// SGD that diverges (a learning rate far too large, a huge l2 or init.std) fills the factors with
// inf and NaN within an epoch; its training RMSE shows it, and the fit must fail (E_NUMERIC, naming
// the options) rather than return a model whose every score is NaN.
void require_finite_epoch(const MfEpoch& ep, const MfOptions& o);

// The per-epoch progress event (stage "epoch", with the epoch's figures) both trainers send.
void report_mf_epoch(TrainContext& ctx, const MfEpoch& ep, int epochs);

// What a device trainer gets, prepared as the CPU trainer prepares its own: ids relabelled by rating
// count (so MASCOT groups are contiguous ranges), shuffled ratings (centred when asked), and the
// same initial factors; it trains p and q (rows by new id) in place.
struct MfDeviceJob {
  int64_t users = 0, items = 0;
  int k = 0;
  std::vector<mf::Rating> ratings;
  std::vector<int32_t> user_group, item_group;  // by new id
  int user_groups = 1, item_groups = 1;
  RowVector<float> p, q;  // host copies, in the CPU trainer's storage so pruning can swap them in
  // Pruning: active factors per row (by new id), and a flag the host sets after rewriting p, q and
  // these between epochs, so the device uploads them.
  bool pruned = false;
  std::vector<uint16_t> user_len, item_len;
  bool upload = false;
};

// Runs the epochs on a device. After each one it calls after_epoch, with job.p and job.q holding the
// current factors when copy_each_epoch; throws cfkit::Error on failure (and lets after_epoch's
// exceptions through, which is how abort works).
using MfDeviceTrain = std::function<void(MfDeviceJob& job, const MfOptions& o, bool copy_each_epoch,
                                         const std::function<void(MfEpoch&)>& after_epoch)>;

// train_mf's contract on a device: fp32, fp16 or MASCOT, k a multiple of 32 up to 256; pruning with
// fp16 (rearranged and cut on the host by the CPU trainer's code, every rearrange_every epochs).
MfTrainResult train_mf_on_device(const Csr& ratings, const Csr* valid, const MfOptions& o, TrainContext& ctx,
                                 const std::function<void(const MfEpoch&)>& on_epoch, const MfDeviceTrain& device);

}  // namespace cfkit
