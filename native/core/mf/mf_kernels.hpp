// SGD inner kernels. Dot products keep 16 independent partial sums (summed in a fixed order), so the
// result is the same whatever SIMD width the compiler picks, and the loops vectorise without
// reassociation flags. fp16 rows are converted with F16C when the CPU has it.
#pragma once
#include <cstdint>

namespace cfkit {
namespace mf {

float dot(const float* a, const float* b, int m);
// p += lr·(e·q − lu·p), q += lr·(e·p_old − li·q) over the first m entries.
void update(float* p, float* q, int m, float e, float lr, float lu, float li);

// One SGD step on two fp16 rows, converting in registers (no temporary rows): returns the error
// r − p·q computed before the update. Same partial-sum layout as dot(), so results match the
// convert-compute-store path exactly.
float sgd_half(uint16_t* p, uint16_t* q, int m, int k, float r, float lr, float lu, float li);

// Half <-> float for a row (IEEE binary16, round to nearest even).
void half_to_float(const uint16_t* in, float* out, int n);
void float_to_half(const float* in, uint16_t* out, int n);

}  // namespace mf
}  // namespace cfkit
