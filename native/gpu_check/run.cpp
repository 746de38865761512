#include "run.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <exception>

#include "device/cuda_backend.hpp"

namespace cfkit_gpu_check {

namespace {
const char* side_name(Side s) { return s == Side::Cpu ? "cpu" : "gpu"; }
const char* status_name(Status s) { return s == Status::Pass ? "PASS" : s == Status::Fail ? "FAIL" : "SKIP"; }
}  // namespace

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

Run::Run(bool quick, int threads) : quick_(quick), threads_(threads) {}

bool Run::gpu() const { return cfkit::device::cuda_status().available; }
const std::string& Run::gpu_reason() const { return cfkit::device::cuda_status().reason; }

void Run::check(const std::string& name, Side side, const std::function<Verdict()>& f) {
  if (side == Side::Gpu && !gpu()) return skip(name, side, gpu_reason());
  Outcome o;
  o.name = name;
  o.side = side;
  const double t0 = now_seconds();
  try {
    const Verdict v = f();
    o.status = v.pass ? Status::Pass : Status::Fail;
    o.error = v.error;
    o.tolerance = v.tolerance;
    o.measured = !std::isnan(v.error);
    o.detail = v.detail;
  } catch (const std::exception& e) {
    o.status = Status::Fail;
    o.detail = std::string("threw: ") + e.what();
  }
  o.seconds = now_seconds() - t0;
  record(std::move(o));
}

void Run::skip(const std::string& name, Side side, const std::string& reason) {
  Outcome o;
  o.name = name;
  o.side = side;
  o.status = Status::Skip;
  o.detail = reason;
  record(std::move(o));
}

void Run::record(Outcome o) {
  if (o.measured)
    std::printf("%s  %-28s [%s]  error %.3g (tolerance %.3g)  %.2f s  %s\n", status_name(o.status), o.name.c_str(),
                side_name(o.side), o.error, o.tolerance, o.seconds, o.detail.c_str());
  else
    std::printf("%s  %-28s [%s]  %s\n", status_name(o.status), o.name.c_str(), side_name(o.side), o.detail.c_str());
  std::fflush(stdout);
  outcomes_.push_back(std::move(o));
}

void Run::timing(const std::string& name, Side side, Figures figures, const std::string& note) {
  std::printf("TIME  %-28s [%s] ", name.c_str(), side_name(side));
  for (const auto& f : figures) std::printf(" %s %.4g", f.first.c_str(), f.second);
  if (!note.empty()) std::printf("  (%s)", note.c_str());
  std::printf("\n");
  std::fflush(stdout);
  timings_.push_back({name, side, std::move(figures), note});
}

int Run::count(Status s) const {
  int n = 0;
  for (const Outcome& o : outcomes_) n += o.status == s;
  return n;
}

}  // namespace cfkit_gpu_check
