#include "mf/mf_pruning.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "common/parallel.hpp"

namespace cfkit {
namespace mf {

namespace {

constexpr int kChunk = 8;  // lengths are multiples of this, for whole SIMD chunks

// Rows visited when estimating a quantile: all of them, or an even stride capped near `budget`.
int64_t sample_stride(int64_t rows, int64_t per_row, int64_t budget) {
  return std::max<int64_t>(1, rows * per_row / std::max<int64_t>(1, budget));
}

}  // namespace

std::vector<int> rearrange_by_joint_sparsity(Side& P, Side& Q, double rate, int threads) {
  const int k = P.k;
  std::vector<float> mags;
  for (const Side* s : {&P, &Q})
    for (int64_t r = 0; r < s->rows; r += sample_stride(s->rows, k, 1 << 16))
      for (int d = 0; d < k; ++d) mags.push_back(std::fabs(s->value(r, d)));
  const size_t at = std::min(mags.size() - 1, static_cast<size_t>(rate * double(mags.size())));
  std::nth_element(mags.begin(), mags.begin() + at, mags.end());
  const float tau = mags[at];

  std::vector<std::vector<int64_t>> counts(threads, std::vector<int64_t>(k, 0));
  for (Side* s : {&P, &Q})
    parallel_ranges(s->rows, threads, [&](int64_t r0, int64_t r1, int tid) {
      std::vector<float> row(k);
      for (int64_t r = r0; r < r1; ++r) {
        const float* v = s->load(r, row.data(), k);
        for (int d = 0; d < k; ++d) counts[tid][d] += std::fabs(v[d]) < tau;
      }
    });
  std::vector<int64_t> sparse(k, 0);
  for (const auto& c : counts)
    for (int d = 0; d < k; ++d) sparse[d] += c[d];
  std::vector<int> order(k);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return sparse[a] < sparse[b]; });
  for (Side* s : {&P, &Q})
    parallel_ranges(s->rows, threads, [&](int64_t r0, int64_t r1, int) { s->permute(order, r0, r1); });
  return order;
}

double prune_tails(Side& P, Side& Q, double rate, int threads) {
  const int k = P.k;
  const int cuts = (k - 1) / kChunk;  // candidate lengths 8, 16, ..., below k
  for (Side* s : {&P, &Q}) s->length.assign(s->rows, static_cast<uint16_t>(k));
  if (cuts == 0 || rate <= 0) return 0;

  // tails[r·cuts + j−1] = Σ_{d ≥ 8j} v_d² for row r, j = 1..cuts.
  auto tail_energies = [&](Side& s, int64_t r, float* row, float* out) {
    const float* v = s.load(r, row, k);
    double acc = 0;
    int d = k;
    for (int j = cuts; j >= 1; --j) {
      for (; d > j * kChunk; --d) acc += double(v[d - 1]) * v[d - 1];
      out[j - 1] = static_cast<float>(acc);
    }
  };
  // The threshold: the quantile of sampled tail energies at which `rate` of the entries go.
  std::vector<float> sample;
  for (Side* s : {&P, &Q}) {
    std::vector<float> row(k), t(cuts);
    for (int64_t r = 0; r < s->rows; r += sample_stride(s->rows, cuts, 1 << 17)) {
      tail_energies(*s, r, row.data(), t.data());
      sample.insert(sample.end(), t.begin(), t.end());
    }
  }
  // Choosing cut j prunes k − 8j entries; across all (row, cut) pairs those sum to kChunk per pair,
  // except that the cut nearest k prunes only k − 8·cuts, so count pairs in units of kChunk.
  const double pairs_needed = rate * double(k) / kChunk * double(sample.size()) / cuts;
  const size_t at = std::min(sample.size() - 1, static_cast<size_t>(pairs_needed));
  std::nth_element(sample.begin(), sample.begin() + at, sample.end());
  const float eps = sample[at];

  for (Side* s : {&P, &Q})
    parallel_ranges(s->rows, threads, [&](int64_t r0, int64_t r1, int) {
      std::vector<float> row(k), t(cuts);
      for (int64_t r = r0; r < r1; ++r) {
        tail_energies(*s, r, row.data(), t.data());
        int len = k;
        for (int j = cuts; j >= 1 && t[j - 1] <= eps; --j) len = j * kChunk;
        s->length[r] = static_cast<uint16_t>(len);
        s->zero_tail(r, len);
      }
    });
  return eps;
}

void rearrange_and_prune(Side& P, Side& Q, double rate, int threads, std::vector<int>& dim_order) {
  const std::vector<int> order = rearrange_by_joint_sparsity(P, Q, rate, threads);
  std::vector<int> composed(order.size());
  for (size_t d = 0; d < order.size(); ++d) composed[d] = dim_order[order[d]];
  dim_order = std::move(composed);
  prune_tails(P, Q, rate, threads);
}

}  // namespace mf
}  // namespace cfkit
