#pragma once
#include <random>

#include "sparse/csr.hpp"

namespace cfkit_test {

// A random binary users x items matrix with about `per_row` items per row.
inline cfkit::Csr random_binary(int64_t rows, int64_t cols, int per_row, unsigned seed) {
  std::mt19937 rng(seed);
  cfkit::Csr m;
  m.rows = rows;
  m.cols = cols;
  m.indptr.push_back(0);
  std::vector<char> seen(cols);
  for (int64_t r = 0; r < rows; ++r) {
    std::fill(seen.begin(), seen.end(), 0);
    for (int t = 0; t < per_row; ++t) seen[rng() % cols] = 1;
    for (int64_t c = 0; c < cols; ++c)
      if (seen[c]) {
        m.indices.push_back(static_cast<int32_t>(c));
        m.values.push_back(1.f);
      }
    m.indptr.push_back(static_cast<int64_t>(m.indices.size()));
  }
  return m;
}

// Users who take most of their items from one of `clusters` contiguous item ranges and one from
// anywhere: a Gram matrix with community structure, whose Cholesky factor keeps many supernodes
// whose rows land on scattered rows of their ancestors (uniform random data fills in at once).
inline cfkit::Csr clustered_binary(int64_t rows, int64_t cols, int64_t clusters, int per_row, unsigned seed) {
  std::mt19937 rng(seed);
  cfkit::Csr m;
  m.rows = rows;
  m.cols = cols;
  m.indptr.push_back(0);
  std::vector<char> seen(cols);
  const int64_t width = cols / clusters;
  for (int64_t r = 0; r < rows; ++r) {
    std::fill(seen.begin(), seen.end(), 0);
    const int64_t home = int64_t(rng() % clusters) * width;
    for (int t = 1; t < per_row; ++t) seen[home + rng() % width] = 1;
    seen[rng() % cols] = 1;
    for (int64_t c = 0; c < cols; ++c)
      if (seen[c]) {
        m.indices.push_back(static_cast<int32_t>(c));
        m.values.push_back(1.f);
      }
    m.indptr.push_back(static_cast<int64_t>(m.indices.size()));
  }
  return m;
}

}  // namespace cfkit_test
