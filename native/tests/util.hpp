#pragma once
#include <algorithm>
#include <random>
#include <vector>

#include "sparse/csr.hpp"

namespace cfkit_test {

// A binary rows x cols matrix whose row r holds the items pick(rng, seen) marks in `seen`.
template <class Pick>
cfkit::Csr binary_rows(int64_t rows, int64_t cols, unsigned seed, Pick&& pick) {
  std::mt19937 rng(seed);
  cfkit::Csr m;
  m.rows = rows;
  m.cols = cols;
  m.indptr.push_back(0);
  std::vector<char> seen(cols);
  for (int64_t r = 0; r < rows; ++r) {
    std::fill(seen.begin(), seen.end(), 0);
    pick(rng, seen);
    for (int64_t c = 0; c < cols; ++c)
      if (seen[c]) {
        m.indices.push_back(static_cast<int32_t>(c));
        m.values.push_back(1.f);
      }
    m.indptr.push_back(static_cast<int64_t>(m.indices.size()));
  }
  return m;
}

// A random binary users x items matrix with about `per_row` items per row.
inline cfkit::Csr random_binary(int64_t rows, int64_t cols, int per_row, unsigned seed) {
  return binary_rows(rows, cols, seed, [&](std::mt19937& rng, std::vector<char>& seen) {
    for (int t = 0; t < per_row; ++t) seen[rng() % cols] = 1;
  });
}

// Users who take most of their items from one of `clusters` contiguous item ranges and one from
// anywhere: a Gram matrix with community structure, whose Cholesky factor keeps many supernodes
// whose rows land on scattered rows of their ancestors (uniform random data fills in at once).
inline cfkit::Csr clustered_binary(int64_t rows, int64_t cols, int64_t clusters, int per_row, unsigned seed) {
  const int64_t width = cols / clusters;
  return binary_rows(rows, cols, seed, [&](std::mt19937& rng, std::vector<char>& seen) {
    const int64_t home = int64_t(rng() % clusters) * width;
    for (int t = 1; t < per_row; ++t) seen[home + rng() % width] = 1;
    seen[rng() % cols] = 1;
  });
}

}  // namespace cfkit_test
