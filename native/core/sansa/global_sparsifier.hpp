// Global magnitude sparsification of UMR's approximate inverse M while it is being updated: after
// each block of column updates, the globally smallest off-diagonal entries are removed until M is
// back at its target count, ties broken by (column, row) so the count is exact and the result does
// not depend on the thread count.
#pragma once
#include <cstdint>
#include <vector>

#include "common/context.hpp"

namespace cfkit {

// M held as one vector per column (diagonal first, then rows in increasing order), so updated columns
// can be swapped in.
struct Columns {
  std::vector<std::vector<int32_t>> rows;
  std::vector<std::vector<float>> vals;
  int64_t nnz = 0;
};

// Keeps no copy of the entries. It counts the live off-diagonal entries per bucket (the top 16 bits
// of |v|'s float representation, which is monotone in |v|) and remembers each column's lowest
// bucket. A cut finds its bucket from the counts; the columns whose lowest bucket is at or below
// the cut are the only ones that can lose entries, so only they are read: the cut bucket's entries
// are gathered from them to choose the exact partial cut, and they are compacted in parallel.
// (A queue of every entry, which an earlier version kept, cost 16 bytes per entry plus its
// growth; a binary heap before that spent most of a finetune step in sift-downs.)
class GlobalSparsifier {
 public:
  GlobalSparsifier(Columns& m, int64_t target);

  // Swaps new contents into column j (rows sorted, diagonal first).
  void replace(int64_t j, std::vector<int32_t>&& rows, std::vector<float>&& vals);
  // Removes the smallest entries until M holds at most `target` entries (diagonals are never removed).
  void enforce(TrainContext& ctx);
  // Columns that lost entries in the last enforce(), in increasing order.
  const std::vector<int64_t>& last_pruned() const { return last_pruned_; }

 private:
  static constexpr int32_t kBuckets = int32_t(1) << 16;
  static int32_t key(float v);
  void count(int64_t j, int64_t sign);

  Columns& m_;
  int64_t target_;
  std::vector<int64_t> live_;      // live off-diagonal entries per bucket
  std::vector<int32_t> low_key_;   // lowest bucket of each column's off-diagonals, kBuckets if none
  std::vector<int64_t> last_pruned_;
  int32_t low_ = kBuckets;         // no live entry lies below this bucket
};

}  // namespace cfkit
