// Scalar pieces of DISTILL-CF that the CPU path and the CUDA kernels must compute identically: the
// Gumbel noise (a counter-based hash, so any (sample, row, item) is drawn independently and both
// sides draw the same numbers) and the NTK entry with its partial derivatives.
#pragma once
#include <cmath>
#include <cstdint>

#ifdef __CUDACC__
#define CFKIT_HOST_DEVICE __host__ __device__
#else
#define CFKIT_HOST_DEVICE
#endif

namespace cfkit {
namespace distill_math {

// Gumbel(0, 1) for item q of row v in sample t of the step seeded by `seed`: splitmix64 of a
// counter that starts from (seed, t, v).
CFKIT_HOST_DEVICE inline double gumbel_noise(uint64_t seed, int t, int64_t v, int64_t q) {
  const uint64_t base = seed * 0x9e3779b97f4a7c15ull + uint64_t(t) * 0xbf58476d1ce4e5b9ull + uint64_t(v) * 0x94d049bb133111ebull + 1;
  uint64_t z = base + uint64_t(q + 1) * 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  const double u = (double(z >> 11) + 0.5) * (1.0 / 9007199254740992.0);
  return -log(-log(u));
}

struct NtkPartials {
  double f, fs, fa, fb;  // value and ∂/∂s, ∂/∂c_a, ∂/∂c_b
};

// The NTK entry f(s, c_a, c_b) = (√(ρ²−s²) + 2(π−θ)s)/π + 0.01 with ρ = √(c_a c_b), θ = acos(s/ρ),
// and its partials (derivation in distill.cpp). s is clamped just inside ρ so the partials stay finite.
CFKIT_HOST_DEVICE inline NtkPartials ntk_partials(double s, double ca, double cb) {
  const double pi = 3.14159265358979323846;
  const double rho = sqrt(ca * cb);
  const double x = fmin(s / rho, 1.0 - 1e-12);
  const double root = sqrt(fmax(rho * rho - s * s, 1e-12 * rho * rho));
  const double theta = acos(x);
  NtkPartials p;
  p.f = (root + 2.0 * (pi - theta) * s) / pi + 0.01;
  p.fs = (2.0 * (pi - theta) + s / root) / pi;
  const double frho = (rho * rho - 2.0 * s * s) / (pi * rho * root);
  p.fa = frho * cb / (2.0 * rho);
  p.fb = frho * ca / (2.0 * rho);
  return p;
}

}  // namespace distill_math
}  // namespace cfkit
