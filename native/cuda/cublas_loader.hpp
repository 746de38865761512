// cuBLAS is never linked: the few entry points cfkit calls are declared here with our own types and
// resolved with dlsym, so one build works with whichever cuBLAS major (13 or 12) the user has.
#pragma once
#include <cstddef>

namespace cfkit {
namespace cuda {

using cublasHandle = void*;
enum CublasOp { kOpN = 0, kOpT = 1 };
enum CublasFill { kFillLower = 0, kFillUpper = 1 };

struct CublasApi {
  int (*create)(cublasHandle*) = nullptr;
  int (*destroy)(cublasHandle) = nullptr;
  int (*get_version)(cublasHandle, int*) = nullptr;
  int (*set_stream)(cublasHandle, void*) = nullptr;
  int (*sgemm)(cublasHandle, int, int, int, int, int, const float*, const float*, int, const float*, int,
               const float*, float*, int) = nullptr;
  int (*dgemm)(cublasHandle, int, int, int, int, int, const double*, const double*, int, const double*, int,
               const double*, double*, int) = nullptr;
  int (*ssyrk)(cublasHandle, int, int, int, int, const float*, const float*, int, const float*, float*,
               int) = nullptr;
  int (*strsm)(cublasHandle, int, int, int, int, int, int, const float*, const float*, int, float*, int) = nullptr;
  int (*dsyrk)(cublasHandle, int, int, int, int, const double*, const double*, int, const double*, double*,
               int) = nullptr;
  int (*dtrsm)(cublasHandle, int, int, int, int, int, int, const double*, const double*, int, double*, int) = nullptr;
};

// The loaded API, or nullptr when cfkit_cublas_load has not succeeded.
const CublasApi* cublas();

}  // namespace cuda
}  // namespace cfkit
