// Preparation shared by the CPU trainer and the device path: one seeded generator for shuffles and
// initial factors, and MASCOT's relabelling by rating count.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <vector>

#include "common/parallel.hpp"
#include "mf/mf_kernels.hpp"
#include "sparse/csr.hpp"

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
  // An independent stream for part `index` of a job seeded with `seed` (a block, a factor row), so
  // parts can be drawn on any thread in any order with the same result.
  static SplitMix stream(uint64_t seed, uint64_t index) {
    SplitMix mix{seed + 0x632be59bd9b4e019ull * index};
    return SplitMix{mix.next()};
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

// Both sides relabelled by rating count: old -> new id, the MASCOT group of every new id, and the
// rating count of every new id.
struct CountOrder {
  std::vector<int32_t> user_new, item_new, user_group, item_group;
  std::vector<int64_t> user_count, item_count;
};

inline CountOrder count_order(const Csr& ratings, int user_groups, int item_groups) {
  const int64_t U = ratings.rows, I = ratings.cols;
  std::vector<int64_t> ucount(U, 0), icount(I, 0);
  for (int64_t u = 0; u < U; ++u) ucount[u] = ratings.row_size(u);
  for (int32_t i : ratings.indices) icount[i]++;
  CountOrder c;
  count_order(ucount, user_groups, c.user_new, c.user_group);
  count_order(icount, item_groups, c.item_new, c.item_group);
  c.user_count.resize(U);
  c.item_count.resize(I);
  for (int64_t u = 0; u < U; ++u) c.user_count[c.user_new[u]] = ucount[u];
  for (int64_t i = 0; i < I; ++i) c.item_count[c.item_new[i]] = icount[i];
  return c;
}

// μ when centring, else 0.
inline double rating_offset(const Csr& ratings, bool center) {
  if (!center || ratings.nnz() == 0) return 0.0;
  double mean = 0;
  for (float v : ratings.values) mean += v;
  return mean / double(ratings.nnz());
}

// Every rating as (new user, new item, r − offset), in one seeded shuffle.
inline std::vector<Rating> shuffled_ratings(const Csr& ratings, const CountOrder& c, double offset, SplitMix& rng) {
  std::vector<Rating> all;
  all.reserve(ratings.nnz());
  for (int64_t u = 0; u < ratings.rows; ++u)
    for (int64_t p = ratings.indptr[u]; p < ratings.indptr[u + 1]; ++p)
      all.push_back({c.user_new[u], c.item_new[ratings.indices[p]], static_cast<float>(double(ratings.values[p]) - offset)});
  for (int64_t t = static_cast<int64_t>(all.size()) - 1; t > 0; --t) std::swap(all[t], all[rng.below(t + 1)]);
  return all;
}

// RMSE of held-out ratings (original ids) through the factor rows of new ids: row_of(side, new id)
// returns k floats, side 0 for users and 1 for items.
template <class RowOf>
double validation_rmse(const Csr& valid, const CountOrder& c, double offset, int k, RowOf&& row_of) {
  double s = 0;
  for (int64_t u = 0; u < valid.rows; ++u)
    for (int64_t p = valid.indptr[u]; p < valid.indptr[u + 1]; ++p) {
      const float* pu = row_of(0, c.user_new[u]);
      const float* qi = row_of(1, c.item_new[valid.indices[p]]);
      const double e = double(valid.values[p]) - offset - dot(pu, qi, k);
      s += e * e;
    }
  return std::sqrt(s / double(valid.nnz()));
}

// Initial factors, n = rows x k values: N(0, std²) or U(0, scale·√(1/k)) as cuMF_SGD. Each row
// draws from its own generator, seeded from one draw of `rng` and the row, so rows are filled in
// parallel with the same result on any number of threads; normals come in Box–Muller pairs.
inline void init_factors(SplitMix& rng, bool uniform, double scale, double std_dev, int k, float* out, size_t n, int threads) {
  const uint64_t seed = rng.next();
  const int64_t rows = static_cast<int64_t>(n / size_t(k));
  parallel_chunks(rows, 4096, threads, [&](int64_t r0, int64_t r1, int) {
    for (int64_t r = r0; r < r1; ++r) {
      SplitMix g = SplitMix::stream(seed, uint64_t(r));
      float* row = out + size_t(r) * size_t(k);
      if (uniform) {
        for (int d = 0; d < k; ++d) row[d] = static_cast<float>(g.uniform() * scale * std::sqrt(1.0 / k));
        continue;
      }
      for (int d = 0; d < k; d += 2) {
        const double radius = std::sqrt(-2.0 * std::log(1.0 - g.uniform())) * std_dev, angle = 6.283185307179586 * g.uniform();
        row[d] = static_cast<float>(radius * std::cos(angle));
        if (d + 1 < k) row[d + 1] = static_cast<float>(radius * std::sin(angle));
      }
    }
  });
}

}  // namespace mf
}  // namespace cfkit
