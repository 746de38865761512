// Device probe: asks the statically linked CUDA runtime what is there. On a machine with no driver
// cudaGetDeviceCount fails with cudaErrorInsufficientDriver (35) or cudaErrorNoDevice (100), which
// the addon turns into a CPU fallback with that reason.
#include <cuda_runtime.h>

#include <cstdio>
#include <cstring>

#include "cuda_api.h"

extern "C" int cfkit_cuda_abi_version(void) { return CFKIT_CUDA_ABI; }

extern "C" int cfkit_cuda_probe(cfkit_cuda_probe_result* out) {
  std::memset(out, 0, sizeof(*out));
  cudaRuntimeGetVersion(&out->runtime_version);
  cudaDriverGetVersion(&out->driver_version);
  int count = 0;
  cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    out->error_code = static_cast<int>(err);
    std::snprintf(out->error, sizeof(out->error), "cudaGetDeviceCount failed: %s (%d)", cudaGetErrorString(err),
                  static_cast<int>(err));
    cudaGetLastError();  // clear the sticky error so later probes start clean
    return 0;
  }
  out->device_count = count;
  int listed = count < 8 ? count : 8;
  for (int d = 0; d < listed; ++d) {
    cudaDeviceProp prop;
    if (cudaGetDeviceProperties(&prop, d) != cudaSuccess) continue;
    std::snprintf(out->devices[d].name, sizeof(out->devices[d].name), "%s", prop.name);
    out->devices[d].total_memory = prop.totalGlobalMem;
    out->devices[d].major = prop.major;
    out->devices[d].minor = prop.minor;
    out->devices[d].multiprocessors = prop.multiProcessorCount;
  }
  if (count == 0) std::snprintf(out->error, sizeof(out->error), "no CUDA device found");
  return count;
}
