// Preparation shared by the CPU trainer and the device path: one seeded generator for shuffles and
// initial factors, and MASCOT's relabelling by rating count.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <vector>

namespace cfkit {
namespace mf {

// splitmix64: seeds, shuffles and initial factors are reproducible from one seed.
struct SplitMix {
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  double uniform() { return double(next() >> 11) * (1.0 / 9007199254740992.0); }
  double normal() {
    const double u1 = 1.0 - uniform(), u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  uint64_t below(uint64_t n) { return next() % n; }
};

// Relabels ids so that ids sorted by rating count (ascending) are contiguous, as MASCOT's grouping
// needs; returns old -> new and the group of every new id (groups of about equal size).
inline void count_order(const std::vector<int64_t>& counts, int groups, std::vector<int32_t>& to_new, std::vector<int32_t>& group_of) {
  const int64_t n = static_cast<int64_t>(counts.size());
  std::vector<int32_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return counts[a] < counts[b]; });
  to_new.assign(n, 0);
  group_of.assign(n, 0);
  groups = std::max(1, std::min<int>(groups, static_cast<int>(std::max<int64_t>(n, 1))));
  for (int64_t r = 0; r < n; ++r) {
    to_new[order[r]] = static_cast<int32_t>(r);
    group_of[r] = static_cast<int32_t>(r * groups / std::max<int64_t>(n, 1));
  }
}


// Initial factors, rows x k: N(0, std²) or U(0, scale·√(1/k)) as cuMF_SGD.
inline void init_factors(SplitMix& rng, bool uniform, double scale, double std_dev, int k, float* out, size_t n) {
  for (size_t t = 0; t < n; ++t)
    out[t] = static_cast<float>(uniform ? rng.uniform() * scale * std::sqrt(1.0 / k) : rng.normal() * std_dev);
}

}  // namespace mf
}  // namespace cfkit
