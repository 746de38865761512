// The inverse of a dense SPD matrix by Cholesky (EASE's P, ∞-AE's (K + reg·I)⁻¹), as LAPACK's potrf
// and potri compute it, but as a sequence of BLAS calls on square tiles, with a callback between
// them. One potrf or potri call cannot be interrupted: on 17,632 items an audit saw them run on for
// 5 s and 7 s after an abort. The tile algorithms are PLASMA's (right-looking Cholesky; trtri and
// lauum as in pstrtri and pslauum); each call does at most 2·tile³ flops.
#pragma once
#include <cstdint>
#include <functional>

namespace cfkit {

// Called between BLAS calls with the fraction of the stage's work done; it may throw (abort).
using StepCallback = std::function<void(double fraction)>;

// Tile side: 1536 for float (a tile product is 7 GFLOP; bench/abort.js saw aborts land within 79 ms
// on two cores) and 1024 for double (2 GFLOP at half the rate). Smaller tiles cost speed: on n = 12,000 in float, 1024-wide tiles made
// trtri + lauum 8-12 % slower than LAPACK's, 1536-wide ones 2-3 %.
struct StepwisePlan {
  int64_t tile = 0;  // 0: the default for the element type
};
int64_t default_tile(bool double_precision);

// Cholesky factor of the column-major lower triangle of the n x n matrix `a` in place (the upper
// triangle is not touched). Returns 0, or the 1-based column where `a` is not positive definite.
int cholesky_lower_stepwise(int64_t n, float* a, const StepCallback& between, StepwisePlan plan = {});
int cholesky_lower_stepwise(int64_t n, double* a, const StepCallback& between, StepwisePlan plan = {});

// From the lower Cholesky factor in `a`, the lower triangle of the inverse, in place (potri's
// contract). Returns 0, or the 1-based index of a zero diagonal entry.
int inverse_from_cholesky_stepwise(int64_t n, float* a, const StepCallback& between, StepwisePlan plan = {});
int inverse_from_cholesky_stepwise(int64_t n, double* a, const StepCallback& between, StepwisePlan plan = {});

}  // namespace cfkit
