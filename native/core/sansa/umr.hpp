// Approximate inverse M ≈ L⁻¹ of a unit lower triangular L (SANSA's UMR), and an exact inverse for
// small catalogues and tests. Both return M by columns, diagonal first, globally sparsified to
// target_nnz entries (diagonal kept).
#pragma once
#include <cstdint>
#include <vector>

#include "common/context.hpp"
#include "sansa/options.hpp"
#include "sparse/csr.hpp"

namespace cfkit {

// UMR: start from 2I − L; each scan updates the columns whose residual ‖e_j − L m_j‖/√n exceeds
// 10^max(−scan−1, logNormThreshold), block by block (c = ⌈n·density⌉ columns), with the minimal-residual
// step m_j += α r_j, α = ⟨r, Lr⟩/‖Lr‖², and global magnitude sparsification after every block;
// finetune steps then update the c columns with the largest residual per √(n − j). Column updates in a
// block run in parallel and are spliced in column order, so the result does not depend on threads.
// `losses` receives ‖I − LM‖²_F / n after the initial guess, each scan and each finetune step.
Csr umr_inverse(const Csr& l, int64_t target_nnz, const UmrOptions& opts, TrainContext& ctx, std::vector<double>* losses);

// Exact column-by-column forward substitution, then global sparsification.
Csr exact_inverse(const Csr& l, int64_t target_nnz, TrainContext& ctx);

// ‖I − LM‖²_F / n.
double inverse_loss(const Csr& l, const Csr& m, TrainContext& ctx);

}  // namespace cfkit
