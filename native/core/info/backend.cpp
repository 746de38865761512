#include "info/backend.hpp"

#include <colamd.h>
#include <cholmod.h>

#include <thread>

#include "dense/lapack.hpp"

namespace cfkit {

namespace {
std::string version(int major, int minor, int sub) {
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(sub);
}
}  // namespace

CpuBackendInfo cpu_backend_info() {
  CpuBackendInfo info;
  info.blas = lapack::blas_description();
  info.blas_threads = lapack::blas_threads();
  // Run-time versions: the library actually loaded may differ from the headers we built against.
  int v[3] = {0, 0, 0};
  cholmod_version(v);
  info.cholmod = version(v[0], v[1], v[2]);
  int s[3] = {0, 0, 0};
  SuiteSparse_version(s);
  info.suitesparse = version(s[0], s[1], s[2]);
  info.colamd = version(COLAMD_MAIN_VERSION, COLAMD_SUB_VERSION, COLAMD_SUBSUB_VERSION);
  unsigned hw = std::thread::hardware_concurrency();
  info.hardware_threads = hw ? static_cast<int>(hw) : 1;
#if defined(__aarch64__)
  info.simd = "neon";
#elif defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f"))
    info.simd = "avx512f";
  else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    info.simd = "avx2+fma";
  else if (__builtin_cpu_supports("sse4.2"))
    info.simd = "sse4.2";
  else
    info.simd = "baseline";
#else
  info.simd = "baseline";
#endif
  return info;
}

}  // namespace cfkit
