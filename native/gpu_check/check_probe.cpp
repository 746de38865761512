// The backend itself: libcfkit_cuda.so loads through the addon's loader with a matching ABI (CPU
// half), and on a GPU machine the probe lists a device and cuBLAS passes its self-test GEMM.
#include <string>

#include "checks.hpp"
#include "device/cuda_backend.hpp"

namespace cfkit_gpu_check {

void check_probe(Run& run) {
  const cfkit::device::CudaStatus& s = cfkit::device::cuda_status();
  run.check("probe", Side::Cpu, [&] {
    return Verdict{s.library_loaded, NAN, NAN,
                   s.library_loaded ? "loaded " + s.library_path + " (ABI " + std::to_string(CFKIT_CUDA_ABI) + ")" : s.reason};
  });
  if (s.devices.empty()) return run.skip("probe", Side::Gpu, s.reason);
  run.check("probe", Side::Gpu, [&] {
    std::string d = s.devices[0].name + " (sm_" + std::to_string(s.devices[0].major) + std::to_string(s.devices[0].minor) +
                    "), driver " + std::to_string(s.driver_version) + ", runtime " + std::to_string(s.runtime_version);
    if (!s.cublas_loaded) return Verdict{false, NAN, NAN, d + "; cuBLAS not loaded: " + s.cublas_error};
    d += "; cuBLAS " + std::to_string(s.cublas_version) + " from " + s.cublas_path + ", self-test " +
         (s.cublas_self_test == 1 ? "passed" : s.cublas_self_test == 0 ? "not run" : "FAILED");
    return Verdict{s.cublas_self_test == 1, NAN, NAN, d};
  });
}

}  // namespace cfkit_gpu_check
