// Internal to the MF kernels: one table of entry points per instruction set, and the scalar
// pieces that define the canonical arithmetic (see mf_kernels.hpp).
#pragma once
#include <cmath>
#include <cstdint>

namespace cfkit {
namespace mf {
namespace isa {

struct KernelTable {
  float (*dot)(const float*, const float*, int);
  void (*update)(float*, float*, int, float, float, float, float);
  float (*step_ff)(float*, float*, int, float, float, float, float);
  float (*step_hh)(uint16_t*, uint16_t*, int, float, float, float, float);
  float (*step_fh)(float*, uint16_t*, int, float, float, float, float);
  float (*step_hf)(uint16_t*, float*, int, float, float, float, float);
};

const KernelTable& scalar_table();
const KernelTable& avx2_table();
const KernelTable& avx512_table();

// Step coefficients, rounded the same way by every kernel: g = lr·e, cp = 1 − lr·λp, cq = 1 − lr·λq.
struct StepCoefficients {
  float g, cp, cq;
};
inline StepCoefficients step_coefficients(float e, float lr, float lu, float li) {
  return {lr * e, std::fma(-lr, lu, 1.f), std::fma(-lr, li, 1.f)};
}

float half_bits_to_float(uint16_t h);
uint16_t float_to_half_bits(float f);

}  // namespace isa
}  // namespace mf
}  // namespace cfkit
