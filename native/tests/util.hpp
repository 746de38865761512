#pragma once
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>
#include <thread>
#include <vector>

#include "common/prefaulted_span.hpp"
#include "sparse/csr.hpp"
#if defined(__linux__)
#include <sys/mman.h>
#endif

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

// How many of the 4 KiB pages that [begin, end) covers are resident (Linux), or -1.
inline int64_t resident_pages(const void* begin, const void* end) {
#if defined(__linux__)
  const cfkit::PageRange r = cfkit::PageRange::covering(begin, end);
  if (r.empty()) return 0;
  std::vector<unsigned char> in(r.bytes() / cfkit::PageRange::kPage);
  if (mincore(r.start(), r.bytes(), in.data()) != 0) return -1;
  int64_t count = 0;
  for (unsigned char c : in) count += c & 1;
  return count;
#else
  (void)begin;
  (void)end;
  return -1;
#endif
}

// Waits up to 5 s for a span's thread to have populated `bytes` in all.
inline void wait_for_population(const cfkit::PrefaultedSpan& span, size_t bytes) {
  for (int i = 0; i < 500 && span.populated_before() + span.populated_after() < bytes; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
}
}  // namespace cfkit_test
