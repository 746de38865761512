// The one progress / cancellation / threading mechanism every long-running routine takes.
#pragma once
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/error.hpp"

namespace cfkit {

struct Progress {
  std::string stage;
  double fraction = 0;  // within the stage, 0..1
  double loss = 0;      // NaN when the stage has no loss
  bool has_loss = false;
  std::vector<std::pair<std::string, double>> extra;  // named figures (e.g. an epoch's RMSEs)
};

class TrainContext {
 public:
  using Callback = std::function<void(const Progress&)>;

  TrainContext() : abort_(std::make_shared<std::atomic<bool>>(false)) {}
  TrainContext(int threads, std::shared_ptr<std::atomic<bool>> abort, Callback cb)
      : threads_(threads < 1 ? 1 : threads), abort_(abort ? std::move(abort) : std::make_shared<std::atomic<bool>>(false)),
        callback_(std::move(cb)) {}

  int threads() const { return threads_; }
  void set_threads(int t) { threads_ = t < 1 ? 1 : t; }
  bool aborted() const { return abort_->load(std::memory_order_relaxed); }
  void request_abort() { abort_->store(true); }

  // Throws E_ABORTED once the caller asked to stop; loops call it at natural boundaries.
  void check_abort() const {
    if (aborted()) fail(ErrorCode::Aborted, "the operation was aborted");
  }

  // Reports are throttled here (stage changes and completion always pass), so inner loops may call
  // this freely without flooding the JS thread.
  void report(const std::string& stage, double fraction) { emit(stage, fraction, 0, false); }
  void report(const std::string& stage, double fraction, double loss) { emit(stage, fraction, loss, true); }
  // Always delivered (never throttled): one event per epoch or step with named figures.
  void report(const std::string& stage, double fraction, double loss, std::vector<std::pair<std::string, double>> extra) {
    if (!callback_) return;
    Progress p{stage, fraction, loss, true, std::move(extra)};
    last_stage_ = stage;
    last_emit_ = std::chrono::steady_clock::now();
    callback_(p);
  }

 private:
  void emit(const std::string& stage, double fraction, double loss, bool has_loss) {
    if (!callback_) return;
    auto now = std::chrono::steady_clock::now();
    bool stage_changed = stage != last_stage_;
    if (!stage_changed && !has_loss && fraction < 1.0 && now - last_emit_ < std::chrono::milliseconds(50)) return;
    last_stage_ = stage;
    last_emit_ = now;
    Progress p{stage, fraction < 0 ? 0 : (fraction > 1 ? 1 : fraction), loss, has_loss, {}};
    callback_(p);
  }

  int threads_ = 1;
  std::shared_ptr<std::atomic<bool>> abort_;
  Callback callback_;
  std::string last_stage_;
  std::chrono::steady_clock::time_point last_emit_{};
};

}  // namespace cfkit
