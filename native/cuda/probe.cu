// Device probe: asks the statically linked CUDA runtime what is there. The runtime answers
// cudaErrorInsufficientDriver (35) both when there is no driver at all and when the driver is older
// than the runtime, so the reason is told apart here by the driver version (0 without libcuda.so.1).
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
    const int d = out->driver_version, r = out->runtime_version;
    if (d == 0)
      std::snprintf(out->error, sizeof(out->error), "no NVIDIA driver found (libcuda.so.1 is not loadable)");
    else if (d < r)
      std::snprintf(out->error, sizeof(out->error),
                    "the NVIDIA driver (CUDA %d.%d) is older than cfkit's CUDA runtime (%d.%d): update the driver", d / 1000,
                    d % 1000 / 10, r / 1000, r % 1000 / 10);
    else if (err == cudaErrorNoDevice)
      std::snprintf(out->error, sizeof(out->error), "no CUDA device found (NVIDIA driver for CUDA %d.%d)", d / 1000,
                    d % 1000 / 10);
    else
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
