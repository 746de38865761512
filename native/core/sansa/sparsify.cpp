#include "sansa/sparsify.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace cfkit {

void sparsify_keep_diagonal(Csr& cols, int64_t target_nnz) {
  const int64_t n = cols.rows;
  const int64_t off = cols.nnz() - n;
  const int64_t keep_off = std::max<int64_t>(0, std::min(off, target_nnz - n));
  if (keep_off >= off) return;
  std::vector<float> mags;
  mags.reserve(off);
  for (int64_t c = 0; c < n; ++c)
    for (int64_t p = cols.indptr[c] + 1; p < cols.indptr[c + 1]; ++p) mags.push_back(std::fabs(cols.values[p]));
  float threshold = 0;
  if (keep_off > 0) {
    std::nth_element(mags.begin(), mags.begin() + (keep_off - 1), mags.end(), std::greater<float>());
    threshold = mags[keep_off - 1];  // the keep_off-th largest magnitude
  }
  int64_t above = 0;
  for (float m : mags)
    if (m > threshold) ++above;
  int64_t ties_left = keep_off - above;  // entries equal to the threshold that still fit
  Csr out;
  out.rows = n;
  out.cols = cols.cols;
  out.indptr.assign(n + 1, 0);
  out.indices.reserve(n + keep_off);
  out.values.reserve(n + keep_off);
  for (int64_t c = 0; c < n; ++c) {
    int64_t b = cols.indptr[c], e = cols.indptr[c + 1];
    out.indices.push_back(cols.indices[b]);
    out.values.push_back(cols.values[b]);
    for (int64_t p = b + 1; p < e; ++p) {
      float m = std::fabs(cols.values[p]);
      bool keep = keep_off > 0 && (m > threshold || (m == threshold && ties_left > 0 && (ties_left--, true)));
      if (!keep) continue;
      out.indices.push_back(cols.indices[p]);
      out.values.push_back(cols.values[p]);
    }
    out.indptr[c + 1] = static_cast<int64_t>(out.indices.size());
  }
  cols = std::move(out);
}

}  // namespace cfkit
