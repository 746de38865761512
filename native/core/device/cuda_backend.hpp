// Lazy, once-per-process discovery of the optional GPU backend (libcfkit_cuda.so in the directory of
// the binary that holds this code: cfkit.node, or the GPU check program) and of cuBLAS through it.
// Node-free, so the addon and the GPU check program load the backend the same way. Never throws:
// every failure becomes a reason string.
#pragma once
#include <string>
#include <vector>

#include "../../cuda/cuda_api.h"

namespace cfkit {
namespace device {

struct CudaDevice {
  std::string name;
  double memory_bytes = 0;
  int major = 0, minor = 0, multiprocessors = 0;
};

struct CudaStatus {
  bool available = false;        // a device, a working cuBLAS and the backend library are all present
  std::string reason;            // why not, when !available
  std::string library_path;      // libcfkit_cuda.so that was (or would have been) loaded
  bool library_loaded = false;
  int driver_version = 0, runtime_version = 0;
  std::vector<CudaDevice> devices;
  bool cublas_loaded = false;
  int cublas_version = 0;
  int cublas_self_test = 0;      // 1 passed, 0 not run, -1 failed
  std::string cublas_path, cublas_error;
};

const CudaStatus& cuda_status();

// The backend's ∞-AE solver, or nullptr unless cuda_status().available.
using CudaInfaeSolve = int (*)(const cfkit_cuda_infae_input*, cfkit_cuda_infae_output*, char*, size_t);
CudaInfaeSolve cuda_infae_solve();
// The backend's ∞-AE scorer entry points, or nullptrs unless cuda_status().available.
struct CudaInfaeScorerApi {
  int (*create)(const cfkit_cuda_infae_input*, const float*, cfkit_cuda_infae_scorer**, char*, size_t) = nullptr;
  int (*score)(cfkit_cuda_infae_scorer*, int64_t, const int64_t*, const int32_t*, const float*, float*, char*, size_t) = nullptr;
  void (*destroy)(cfkit_cuda_infae_scorer*) = nullptr;
};
CudaInfaeScorerApi cuda_infae_scorer();
// The backend's MF trainer, or nullptr unless cuda_status().available.
using CudaMfTrain = int (*)(const cfkit_cuda_mf_problem*, const cfkit_cuda_mf_params*, cfkit_cuda_mf_epoch_fn, void*, char*,
                            size_t);
CudaMfTrain cuda_mf_train();
// The backend's DISTILL-CF entry points, or nullptrs unless cuda_status().available.
struct CudaDistillApi {
  int (*create)(const cfkit_cuda_distill_input*, cfkit_cuda_distill**, char*, size_t) = nullptr;
  int (*loss)(cfkit_cuda_distill*, const cfkit_cuda_distill_step*, const double*, double*, double*, int64_t*, char*, size_t) = nullptr;
  int (*gumbel_sum)(cfkit_cuda_distill*, const cfkit_cuda_distill_step*, const double*, double*, char*, size_t) = nullptr;
  void (*destroy)(cfkit_cuda_distill*) = nullptr;
};
CudaDistillApi cuda_distill();

}  // namespace device
}  // namespace cfkit
