#include "cuda_backend.hpp"

#include <dlfcn.h>

#include <cstdlib>
#include <mutex>

namespace cfkit {
namespace device {

namespace {

CudaInfaeSolve g_infae_solve = nullptr;
CudaMfTrain g_mf_train = nullptr;
CudaInfaeScorerApi g_infae_scorer;
CudaDistillApi g_distill;

std::string own_directory() {
  Dl_info info;
  if (dladdr(reinterpret_cast<void*>(&own_directory), &info) && info.dli_fname) {
    std::string p(info.dli_fname);
    size_t slash = p.rfind('/');
    if (slash != std::string::npos) return p.substr(0, slash);
  }
  return ".";
}

CudaStatus discover() {
  CudaStatus s;
  const char* dev = std::getenv("CFKIT_DEVICE");
  s.library_path = own_directory() + "/libcfkit_cuda.so";
  if (dev && std::string(dev) == "cpu") {
    s.reason = "disabled by CFKIT_DEVICE=cpu";
    return s;
  }
  void* lib = dlopen(s.library_path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char* e = dlerror();
    s.reason = std::string("GPU backend not loadable: ") + (e ? e : s.library_path);
    return s;
  }
  auto abi = reinterpret_cast<int (*)()>(dlsym(lib, "cfkit_cuda_abi_version"));
  auto probe = reinterpret_cast<int (*)(cfkit_cuda_probe_result*)>(dlsym(lib, "cfkit_cuda_probe"));
  auto load_cublas = reinterpret_cast<int (*)(const char*, cfkit_cublas_status*)>(dlsym(lib, "cfkit_cublas_load"));
  auto infae_solve = reinterpret_cast<CudaInfaeSolve>(dlsym(lib, "cfkit_cuda_infae_solve"));
  auto mf_train = reinterpret_cast<CudaMfTrain>(dlsym(lib, "cfkit_cuda_mf_train"));
  CudaInfaeScorerApi scorer;
  scorer.create = reinterpret_cast<decltype(scorer.create)>(dlsym(lib, "cfkit_cuda_infae_scorer_create"));
  scorer.score = reinterpret_cast<decltype(scorer.score)>(dlsym(lib, "cfkit_cuda_infae_score"));
  scorer.destroy = reinterpret_cast<decltype(scorer.destroy)>(dlsym(lib, "cfkit_cuda_infae_scorer_free"));
  CudaDistillApi distill;
  distill.create = reinterpret_cast<decltype(distill.create)>(dlsym(lib, "cfkit_cuda_distill_create"));
  distill.loss = reinterpret_cast<decltype(distill.loss)>(dlsym(lib, "cfkit_cuda_distill_loss"));
  distill.gumbel_sum = reinterpret_cast<decltype(distill.gumbel_sum)>(dlsym(lib, "cfkit_cuda_distill_gumbel_sum"));
  distill.destroy = reinterpret_cast<decltype(distill.destroy)>(dlsym(lib, "cfkit_cuda_distill_free"));
  if (!abi || !probe || !load_cublas || !infae_solve || !mf_train || !scorer.create || !scorer.score || !scorer.destroy ||
      !distill.create || !distill.loss || !distill.gumbel_sum || !distill.destroy || abi() != CFKIT_CUDA_ABI) {
    s.reason = "GPU backend " + s.library_path + " does not match this cfkit.node (rebuild both)";
    return s;
  }
  s.library_loaded = true;
  cfkit_cuda_probe_result r;
  probe(&r);
  s.driver_version = r.driver_version;
  s.runtime_version = r.runtime_version;
  for (int d = 0; d < r.device_count && d < 8; ++d)
    s.devices.push_back({r.devices[d].name, double(r.devices[d].total_memory), r.devices[d].major, r.devices[d].minor,
                         r.devices[d].multiprocessors});
  if (r.device_count == 0) {
    s.reason = std::string("no usable CUDA device: ") + r.error;
    return s;
  }
  const char* cublas_path = std::getenv("CFKIT_CUBLAS_PATH");
  cfkit_cublas_status cb;
  load_cublas(cublas_path, &cb);
  s.cublas_loaded = cb.loaded != 0;
  s.cublas_version = cb.version;
  s.cublas_self_test = cb.self_test;
  s.cublas_path = cb.path;
  s.cublas_error = cb.error;
  if (!s.cublas_loaded) {
    s.reason = std::string("cuBLAS not available: ") + cb.error +
               " (install the CUDA toolkit's cuBLAS or set CFKIT_CUBLAS_PATH to libcublas.so or its folder)";
    return s;
  }
  s.available = true;
  g_infae_solve = infae_solve;
  g_mf_train = mf_train;
  g_infae_scorer = scorer;
  g_distill = distill;
  return s;
}

}  // namespace

CudaInfaeSolve cuda_infae_solve() { return cuda_status().available ? g_infae_solve : nullptr; }
CudaInfaeScorerApi cuda_infae_scorer() { return cuda_status().available ? g_infae_scorer : CudaInfaeScorerApi{}; }
CudaMfTrain cuda_mf_train() { return cuda_status().available ? g_mf_train : nullptr; }
CudaDistillApi cuda_distill() { return cuda_status().available ? g_distill : CudaDistillApi{}; }

const CudaStatus& cuda_status() {
  static std::once_flag once;
  static CudaStatus status;
  std::call_once(once, [] { status = discover(); });
  return status;
}

}  // namespace device
}  // namespace cfkit
