// The CPU trainer's parameters: one side (users or items) in fp32, fp16, or both with a per-group
// choice (MASCOT), plus per-row active lengths (pruning); and MASCOT's sampled gradient sums.
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#include "common/row_allocator.hpp"
#include "mf/mf_kernels.hpp"

namespace cfkit {
namespace mf {

// Parameters of one side (users or items): fp32 rows, fp16 rows, or both with a per-group choice.
struct Side {
  int64_t rows = 0;
  int k = 0;
  RowVector<float> f32;
  RowVector<uint16_t> f16;
  std::vector<int32_t> group;     // per row (MASCOT)
  std::vector<uint8_t> group_f32; // per group: 1 once switched to fp32
  std::vector<uint16_t> length;   // active factors per row (pruning)

  bool row_is_f32(int64_t r) const { return f16.empty() || (!group_f32.empty() && group_f32[group[r]]); }
  // Pointer to the row in fp32: the stored row itself, or `tmp` filled from fp16.
  float* load(int64_t r, float* tmp, int m) {
    if (row_is_f32(r)) return &f32[r * k];
    half_to_float(&f16[r * k], tmp, m);
    return tmp;
  }
  void store(int64_t r, const float* v, int m) {
    if (!row_is_f32(r)) float_to_half(v, &f16[r * k], m);
  }
  float value(int64_t r, int d) const {
    if (row_is_f32(r)) return f32[r * k + d];
    float f;
    half_to_float(&f16[r * k + d], &f, 1);
    return f;
  }
  void switch_group(int g) {
    group_f32[g] = 1;
    for (int64_t r = 0; r < rows; ++r)
      if (group[r] == g) half_to_float(&f16[r * k], &f32[r * k], k);
  }
  // Asks for the first m factors of row r ahead of use: updates are bound by the latency of random
  // row fetches, not by arithmetic, so this is what makes shorter (pruned, fp16) rows pay off.
  void prefetch(int64_t r, int m) const {
    const char* base;
    size_t bytes;
    if (row_is_f32(r)) {
      base = reinterpret_cast<const char*>(&f32[r * k]);
      bytes = size_t(m) * 4;
    } else {
      base = reinterpret_cast<const char*>(&f16[r * k]);
      bytes = size_t(m) * 2;
    }
    for (size_t off = 0; off < bytes; off += 64) __builtin_prefetch(base + off, 1, 3);
  }
  void zero_tail(int64_t r, int from) {
    if (!f32.empty()) std::fill(&f32[r * k + from], &f32[r * k + k], 0.f);
    if (!f16.empty()) std::fill(&f16[r * k + from], &f16[r * k + k], uint16_t(0));
  }
  // Moves latent dimension order[d] to position d in rows [r0, r1).
  void permute(const std::vector<int>& order, int64_t r0, int64_t r1) {
    std::vector<float> tmp(k);
    std::vector<uint16_t> t16(k);
    for (int64_t r = r0; r < r1; ++r) {
      if (!f32.empty()) {
        for (int d = 0; d < k; ++d) tmp[d] = f32[r * k + order[d]];
        std::copy(tmp.begin(), tmp.end(), &f32[r * k]);
      }
      if (!f16.empty()) {
        for (int d = 0; d < k; ++d) t16[d] = f16[r * k + order[d]];
        std::copy(t16.begin(), t16.end(), &f16[r * k]);
      }
    }
  }
};

// One SGD step on user row u and item row i, each in its own precision.
inline float step_rows(Side& P, Side& Q, int64_t u, int64_t i, int m, float r, float lr, float lu, float li) {
  const bool pf = P.row_is_f32(u), qf = Q.row_is_f32(i);
  float* p32 = pf ? &P.f32[u * P.k] : nullptr;
  float* q32 = qf ? &Q.f32[i * Q.k] : nullptr;
  uint16_t* p16 = pf ? nullptr : &P.f16[u * P.k];
  uint16_t* q16 = qf ? nullptr : &Q.f16[i * Q.k];
  if (pf) return qf ? sgd_step(p32, q32, m, r, lr, lu, li) : sgd_step(p32, q16, m, r, lr, lu, li);
  return qf ? sgd_step(p16, q32, m, r, lr, lu, li) : sgd_step(p16, q16, m, r, lr, lu, li);
}

struct GroupStats {
  int k;
  std::vector<double> sum;  // groups x k: Σ gradients
  std::vector<double> sq;   // groups: Σ ‖gradient‖²
  GroupStats(int groups, int k) : k(k), sum(size_t(groups) * k, 0.0), sq(groups, 0.0) {}
  // Adds a gradient whose entries past m are zero. Four partial sums for ‖g‖², so the loop is not
  // one chain of dependent double additions (it runs for every sampled update).
  void add(int g, const float* grad, int m) {
    double* s = &sum[size_t(g) * k];
    double n[4] = {0, 0, 0, 0};
    int d = 0;
    for (; d + 4 <= m; d += 4)
      for (int j = 0; j < 4; ++j) {
        s[d + j] += grad[d + j];
        n[j] += double(grad[d + j]) * grad[d + j];
      }
    for (; d < m; ++d) {
      s[d] += grad[d];
      n[0] += double(grad[d]) * grad[d];
    }
    sq[g] += (n[0] + n[1]) + (n[2] + n[3]);
  }
};

}  // namespace mf
}  // namespace cfkit
