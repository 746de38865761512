#pragma once
#include <string>

namespace cfkit {

struct CpuBackendInfo {
  std::string blas;          // vendor/config string
  int blas_threads = 1;
  std::string suitesparse;   // "5.12.0"
  std::string cholmod;       // "3.0.14"
  std::string colamd;        // "2.9.6"
  int hardware_threads = 1;
  std::string simd;          // widest SIMD the running CPU offers
};

CpuBackendInfo cpu_backend_info();

}  // namespace cfkit
