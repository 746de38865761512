// Dynamic latent pruning (arXiv 2404.04265) for the CPU trainer: rearrange the latent dimensions
// by joint sparsity, then give each row an active length that skips its insignificant tail.
#pragma once
#include <vector>

#include "mf/mf_side.hpp"

namespace cfkit {
namespace mf {

// Puts the latent dimensions of P and Q in order of joint sparsity, dense first. A dimension's
// sparsity is how many of its entries, over both sides, are below the `rate` quantile of all
// magnitudes. Returns the permutation applied: new position d holds old dimension order[d].
std::vector<int> rearrange_by_joint_sparsity(Side& P, Side& Q, double rate, int threads);

// Sets every row's active length (a multiple of 8, at least 8, or k) so that about `rate` of all
// stored entries are pruned, cutting the trailing runs with the least energy Σ v² first: the energy
// threshold is the matching quantile of all rows' tail energies. Pruned entries become zero, so a
// full dot product (prediction) and the early-stopped one (training) agree. Returns the threshold.
double prune_tails(Side& P, Side& Q, double rate, int threads);

// One step of the pruning schedule: rearrange, fold the permutation into dim_order (position d
// holds original dimension dim_order[d]), then cut the tails.
void rearrange_and_prune(Side& P, Side& Q, double rate, int threads, std::vector<int>& dim_order);

}  // namespace mf
}  // namespace cfkit
