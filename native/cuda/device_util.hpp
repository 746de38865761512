// Error handling and RAII buffers shared by the GPU entry points: any CUDA or cuBLAS failure becomes
// a Failure that the extern "C" wrapper turns into an error string, and device memory is freed on
// every path.
#pragma once
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <string>

#include "cublas_loader.hpp"

namespace cfkit {
namespace cuda {

struct Failure {
  std::string what;
};

inline void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw Failure{std::string(what) + ": " + cudaGetErrorString(e)};
}

inline void check_blas(int status, const char* what) {
  if (status != 0) throw Failure{std::string(what) + " failed with cuBLAS status " + std::to_string(status)};
}

template <class T>
struct DeviceBuffer {
  T* p = nullptr;
  DeviceBuffer(size_t n, const char* what) { check(cudaMalloc(&p, n * sizeof(T) + (n == 0)), what); }
  ~DeviceBuffer() { cudaFree(p); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  void upload(const T* host, size_t n) { check(cudaMemcpy(p, host, n * sizeof(T), cudaMemcpyHostToDevice), "copy to the device"); }
  void download(T* host, size_t n) const { check(cudaMemcpy(host, p, n * sizeof(T), cudaMemcpyDeviceToHost), "copy to the host"); }
};

// A cuBLAS handle for one entry point's work.
struct BlasHandle {
  const CublasApi* api;
  cublasHandle h = nullptr;
  explicit BlasHandle(const CublasApi* a) : api(a) { check_blas(api->create(&h), "cublasCreate"); }
  ~BlasHandle() {
    if (h) api->destroy(h);
  }
  BlasHandle(const BlasHandle&) = delete;
  BlasHandle& operator=(const BlasHandle&) = delete;
};

inline double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// The body of an extern "C" entry point: runs fn and returns its result, or -1 with the failure
// written to error. A sticky launch error is cleared so the next call starts clean.
template <class Fn>
int guarded_entry(char* error, size_t error_len, Fn&& fn) {
  try {
    return fn();
  } catch (const Failure& f) {
    if (error && error_len) std::snprintf(error, error_len, "%s", f.what.c_str());
  } catch (const std::exception& e) {
    if (error && error_len) std::snprintf(error, error_len, "%s", e.what());
  }
  cudaGetLastError();
  return -1;
}

// Blocks for a grid-stride loop over n items.
inline int grid_for(int64_t n, int threads) { return static_cast<int>(std::min<int64_t>((n + threads - 1) / threads, 65535)); }

}  // namespace cuda
}  // namespace cfkit
