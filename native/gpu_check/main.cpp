// cfkit-gpu-check: every CUDA path against its CPU twin, plus timings, without Node. It links the
// core library and loads libcfkit_cuda.so (beside this program) through the addon's own loader, so
// it tests what users run. scripts/gpu-bundle.sh packs it with its libraries; docs/gpu.md says how
// to run it.
//
//   cfkit-gpu-check [--quick] [--only probe,infae,distill,mf] [--threads N] [--out FILE]
//
// Prints a line per check and timing, then "gpu-check: N passed, N failed, N skipped" last. Exit
// status 0 when nothing failed, 1 when a check failed, 2 on bad arguments.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "checks.hpp"
#include "device/cuda_backend.hpp"
#include "report_json.hpp"

using namespace cfkit_gpu_check;

namespace {

int usage(const char* why) {
  std::fprintf(stderr, "cfkit-gpu-check: %s\nusage: cfkit-gpu-check [--quick] [--only probe,infae,distill,mf] [--threads N] [--out FILE]\n", why);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  int threads = int(std::thread::hardware_concurrency());
  std::string out;
  std::set<std::string> only;
  const std::set<std::string> groups = {"probe", "infae", "distill", "mf"};
  for (int a = 1; a < argc; ++a) {
    const std::string arg = argv[a];
    if (arg == "--quick") {
      quick = true;
    } else if (arg == "--out" && a + 1 < argc) {
      out = argv[++a];
    } else if (arg == "--threads" && a + 1 < argc) {
      threads = std::atoi(argv[++a]);
      if (threads < 1) return usage("--threads needs a positive integer");
    } else if (arg == "--only" && a + 1 < argc) {
      std::stringstream list(argv[++a]);
      for (std::string g; std::getline(list, g, ',');) {
        if (!groups.count(g)) return usage(("unknown group '" + g + "'").c_str());
        only.insert(g);
      }
    } else {
      return usage(("unknown argument '" + arg + "'").c_str());
    }
  }
  if (threads < 1) threads = 1;
  const auto wanted = [&](const char* g) { return only.empty() || only.count(g) > 0; };

  Run run(quick, threads);
  const double t0 = now_seconds();
  const cfkit::device::CudaStatus& cuda = cfkit::device::cuda_status();
  std::printf("cfkit-gpu-check %s, %s mode, %d threads\n", CFKIT_VERSION, quick ? "quick" : "full", threads);
  std::printf("GPU: %s\n", cuda.available ? (cuda.devices[0].name + ", cuBLAS " + cuda.cublas_path).c_str()
                                          : ("not used: " + cuda.reason).c_str());
  std::fflush(stdout);
  if (wanted("probe")) check_probe(run);
  if (wanted("infae")) check_infae(run);
  if (wanted("distill")) check_distill(run);
  if (wanted("mf")) check_mf(run);
  if (!quick) {
    if (wanted("infae")) time_infae(run);
    if (wanted("mf")) time_mf(run);
    if (wanted("distill")) time_distill(run);
  }
  const double seconds = now_seconds() - t0;
  if (!out.empty()) {
    std::string error;
    if (!write_report(out, run, seconds, error)) std::fprintf(stderr, "cfkit-gpu-check: could not write %s: %s\n", out.c_str(), error.c_str());
    else std::printf("wrote %s\n", out.c_str());
  }
  const int failed = run.count(Status::Fail);
  std::printf("gpu-check: %d passed, %d failed, %d skipped\n", run.count(Status::Pass), failed, run.count(Status::Skip));
  return failed ? 1 : 0;
}
