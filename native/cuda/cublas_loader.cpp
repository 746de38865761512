#include "cublas_loader.hpp"

#include <cuda_runtime.h>
#include <dlfcn.h>
#include <sys/stat.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "cuda_api.h"

namespace cfkit {
namespace cuda {

namespace {
std::mutex g_mutex;
CublasApi g_api;
bool g_loaded = false;
cfkit_cublas_status g_status;

bool is_directory(const char* p) {
  struct stat st;
  return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

template <class F>
bool resolve(void* lib, const char* name, F& fn, std::string& missing) {
  fn = reinterpret_cast<F>(dlsym(lib, name));
  if (!fn) missing += std::string(missing.empty() ? "" : ", ") + name;
  return fn != nullptr;
}

// C = A·B for 2x2 matrices on the device, compared with the host result: catches a loaded but
// broken library before any model trusts it.
int self_test() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) {
    cudaGetLastError();
    return 0;
  }
  const float a[4] = {1, 2, 3, 4}, b[4] = {5, 6, 7, 8};
  float c[4] = {0, 0, 0, 0};
  float *da = nullptr, *db = nullptr, *dc = nullptr;
  int ok = -1;
  cublasHandle h = nullptr;
  if (cudaMalloc(&da, sizeof a) == cudaSuccess && cudaMalloc(&db, sizeof b) == cudaSuccess &&
      cudaMalloc(&dc, sizeof c) == cudaSuccess && cudaMemcpy(da, a, sizeof a, cudaMemcpyHostToDevice) == cudaSuccess &&
      cudaMemcpy(db, b, sizeof b, cudaMemcpyHostToDevice) == cudaSuccess && g_api.create(&h) == 0) {
    const float one = 1, zero = 0;
    if (g_api.sgemm(h, kOpN, kOpN, 2, 2, 2, &one, da, 2, db, 2, &zero, dc, 2) == 0 &&
        cudaMemcpy(c, dc, sizeof c, cudaMemcpyDeviceToHost) == cudaSuccess) {
      // column-major: c = a * b
      const float expect[4] = {1 * 5 + 3 * 6, 2 * 5 + 4 * 6, 1 * 7 + 3 * 8, 2 * 7 + 4 * 8};
      ok = 1;
      for (int i = 0; i < 4; ++i)
        if (std::fabs(c[i] - expect[i]) > 1e-4f) ok = -1;
    }
    int v = 0;
    if (g_api.get_version(h, &v) == 0) g_status.version = v;
    g_api.destroy(h);
  }
  cudaFree(da);
  cudaFree(db);
  cudaFree(dc);
  cudaGetLastError();
  return ok;
}
}  // namespace

const CublasApi* cublas() {
  std::lock_guard<std::mutex> lock(g_mutex);
  return g_loaded ? &g_api : nullptr;
}

}  // namespace cuda
}  // namespace cfkit

extern "C" int cfkit_cublas_load(const char* explicit_path, cfkit_cublas_status* out) {
  using namespace cfkit::cuda;
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_loaded) {
    *out = g_status;
    return 1;
  }
  std::memset(&g_status, 0, sizeof g_status);
  std::vector<std::string> candidates;
  if (explicit_path && *explicit_path) {
    if (is_directory(explicit_path)) {
      candidates.push_back(std::string(explicit_path) + "/libcublas.so.13");
      candidates.push_back(std::string(explicit_path) + "/libcublas.so.12");
    } else {
      candidates.push_back(explicit_path);
    }
  } else {
    candidates = {"libcublas.so.13", "libcublas.so.12"};
  }
  std::string errors;
  for (const std::string& c : candidates) {
    void* lib = dlopen(c.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
      const char* e = dlerror();
      errors += (errors.empty() ? "" : "; ") + std::string(e ? e : c.c_str());
      continue;
    }
    std::string missing;
    CublasApi api;
    resolve(lib, "cublasCreate_v2", api.create, missing);
    resolve(lib, "cublasDestroy_v2", api.destroy, missing);
    resolve(lib, "cublasGetVersion_v2", api.get_version, missing);
    resolve(lib, "cublasSetStream_v2", api.set_stream, missing);
    resolve(lib, "cublasSgemm_v2", api.sgemm, missing);
    resolve(lib, "cublasDgemm_v2", api.dgemm, missing);
    resolve(lib, "cublasSsyrk_v2", api.ssyrk, missing);
    resolve(lib, "cublasStrsm_v2", api.strsm, missing);
    resolve(lib, "cublasDsyrk_v2", api.dsyrk, missing);
    resolve(lib, "cublasDtrsm_v2", api.dtrsm, missing);
    if (!missing.empty()) {
      errors += (errors.empty() ? "" : "; ") + c + " lacks " + missing;
      dlclose(lib);
      continue;
    }
    g_api = api;
    g_loaded = true;
    g_status.loaded = 1;
    std::snprintf(g_status.path, sizeof g_status.path, "%s", c.c_str());
    g_status.self_test = self_test();
    if (g_status.self_test < 0) {
      g_loaded = false;
      g_status.loaded = 0;
      std::snprintf(g_status.error, sizeof g_status.error, "%s loaded but its self-test GEMM gave wrong results",
                    c.c_str());
    }
    *out = g_status;
    return g_status.loaded;
  }
  std::snprintf(g_status.error, sizeof g_status.error, "%s", errors.c_str());
  *out = g_status;
  return 0;
}
