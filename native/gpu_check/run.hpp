// The GPU check's bookkeeping: every check has a CPU half (the twin, checked on its own terms) and a
// GPU half (checked against the twin), each recorded as pass, fail or skip with its measured error;
// timings are recorded beside them. Results print as they come and end up in gpu-check.json.
#pragma once
#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace cfkit_gpu_check {

enum class Side { Cpu, Gpu };
enum class Status { Pass, Fail, Skip };

// What a check measured: `error` against `tolerance` (NaN when the check is not a distance).
struct Verdict {
  bool pass = false;
  double error = 0, tolerance = 0;
  std::string detail;
};

struct Outcome {
  std::string name;
  Side side = Side::Cpu;
  Status status = Status::Skip;
  double error = 0, tolerance = 0;
  bool measured = false;
  std::string detail;
  double seconds = 0;
};

using Figures = std::vector<std::pair<std::string, double>>;

struct Timing {
  std::string name;
  Side side = Side::Cpu;
  Figures figures;
  std::string note;
};

class Run {
 public:
  Run(bool quick, int threads);
  bool quick() const { return quick_; }
  int threads() const { return threads_; }
  // Whether the GPU halves can run, and why not.
  bool gpu() const;
  const std::string& gpu_reason() const;

  // Runs f and records its verdict; a thrown exception fails the check with its message. A GPU
  // check is skipped, with the reason, when no usable device is present.
  void check(const std::string& name, Side side, const std::function<Verdict()>& f);
  void skip(const std::string& name, Side side, const std::string& reason);
  void timing(const std::string& name, Side side, Figures figures, const std::string& note = "");

  int count(Status s) const;
  const std::vector<Outcome>& outcomes() const { return outcomes_; }
  const std::vector<Timing>& timings() const { return timings_; }

 private:
  void record(Outcome o);
  bool quick_;
  int threads_;
  std::vector<Outcome> outcomes_;
  std::vector<Timing> timings_;
};

// max |a − b| and max |a|, for tolerances relative to the values' scale.
struct Difference {
  double worst = 0, scale = 0;
};
template <class A, class B>
Difference largest_difference(const A& a, const B& b) {
  Difference d;
  for (size_t t = 0; t < a.size(); ++t) {
    const double x = a[t], y = b[t];
    d.worst = std::max(d.worst, std::abs(x - y));
    d.scale = std::max(d.scale, std::abs(x));
  }
  return d;
}

// Seconds on a steady clock since `start` (from now_seconds()).
double now_seconds();

}  // namespace cfkit_gpu_check
