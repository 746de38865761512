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

// Entries (|v|, column, row, column version) wait in buckets keyed by the top 16 bits of |v|'s float
// representation, which is monotone in |v|, and every bucket keeps a count of its live entries. A
// new entry is an append; a cut finds its bucket from the counts, sorts only that bucket, and then
// compacts the affected columns in parallel against the cut. (A binary heap spent most of a UMR
// finetune step in sift-downs: each block pushes and pops about as many entries as its columns hold.)
// Entries of replaced columns go stale and are dropped when their bucket is reached; everything is
// re-queued when stale entries dominate.
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
  static constexpr int64_t kBuckets = int64_t(1) << 16;
  struct Entry {
    float mag;
    int32_t col, row;
    uint32_t version;
  };
  static bool smaller(const Entry& a, const Entry& b);
  static int64_t key(float mag);
  void push_column(int64_t j);
  void rebuild();

  Columns& m_;
  int64_t target_;
  std::vector<uint32_t> version_;
  std::vector<int64_t> last_pruned_;
  std::vector<std::vector<Entry>> buckets_;
  std::vector<int64_t> live_;  // live entries per bucket
  int64_t low_ = kBuckets, queued_ = 0;
};

}  // namespace cfkit
