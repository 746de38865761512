// SANSA (Spišák et al., RecSys'23) options, with the reference implementation's defaults
// (glami/sansa 1.1, ALGORITHMS.md §1.3).
#pragma once
#include <cstdint>
#include <vector>

namespace cfkit {

enum class Factorizer { Cholmod, Icf };
enum class Ordering { Colamd, Amd, Natural };
enum class Inverter { Umr, Exact };

struct UmrOptions {
  int scans = 1;
  int finetune = 10;
  double log_norm_threshold = -7;  // floor of the per-scan residual threshold (≈ float32 precision)
  double loss_threshold = 0;       // stop when ‖I − LM‖²_F / n falls below this; 0 never stops early
};

struct IcfOptions {
  double shift_step = 1e-3;
  double shift_multiplier = 2.0;
  int max_restarts = 30;
};

struct SansaOptions {
  double l2 = 20;
  double density = 1e-3;  // target density of L and of L⁻¹ (floored at 2/n)
  Factorizer factorizer = Factorizer::Cholmod;
  Ordering ordering = Ordering::Colamd;
  Inverter inverter = Inverter::Umr;
  UmrOptions umr;
  IcfOptions icf;
  // The CHOLMOD factorizer factors densely (the Gram matrix of X in factor order, then LAPACK potrf)
  // when the symbolic analysis predicts at least this fraction of the lower triangle filled and the
  // n x n matrix fits in dense_factor_max_bytes: same P, same L, and on ML-1M (81% fill) faster than
  // CHOLMOD's supernodal AAᵀ path. It is float32 when sparsification keeps at most half of the
  // factor, double otherwise. Values above 1 turn it off.
  double dense_factor_min_fill = 0.75;
  int64_t dense_factor_max_bytes = int64_t(2) << 30;
  // Otherwise the numeric step runs in float32 on CHOLMOD's supernodal analysis (same rule: when
  // sparsification keeps at most half of the factor; supernodal_single.hpp), falling back to
  // CHOLMOD's double step on a float32 breakdown. False always uses CHOLMOD's.
  bool single_supernodal = true;
  // Float32 (either numeric path) also needs λ to keep XᵀX + λI well conditioned: its eigenvalues
  // lie in [λ, λ + max_j Σ_i |(XᵀX)_ij|], and that ratio must stay below this bound.
  double float32_max_condition = 1e5;
};

struct SansaStats {
  double seconds_ordering = 0, seconds_factorize = 0, seconds_sparsify = 0, seconds_inverse = 0, seconds_weights = 0;
  int64_t n_items = 0;
  int64_t nnz_factor_full = 0;  // the exact factor before sparsification (0 for ICF)
  bool dense_factor = false;    // the exact factor was computed densely (see dense_factor_min_fill)
  bool single_factor = false;   // the exact factor was computed in float32 (dense or supernodal)
  int64_t nnz_l = 0;            // L after sparsification / incomplete factorization, diagonal included
  int64_t nnz_inverse = 0;      // M ≈ L⁻¹, diagonal included
  int64_t nnz_weights = 0;      // encoder + decoder
  int icf_restarts = 0;
  double icf_shift = 0;         // the diagonal shift that succeeded
  std::vector<double> umr_loss; // after the initial guess, each scan and each finetune step
};

}  // namespace cfkit
