// Single-precision numeric factorization on CHOLMOD's supernodal symbolic analysis. SuiteSparse 5
// (Debian bookworm's) factors in double only; where sparsification drops most of an exact factor
// that fills in (Gowalla: 485 M nonzeros, 0.35 % kept at density 1e-3), float32 halves both the BLAS
// time and the memory of CHOLMOD's own numeric step, and its rounding sits far below what is dropped.
#pragma once
#include <cholmod.h>

#include <cstdint>
#include <cstdlib>
#include <memory>

#include "common/context.hpp"
#include "common/prefaulted_span.hpp"
#include "common/zeroed_pages.hpp"
#include "sparse/csr.hpp"

namespace cfkit {

// In its own mapping, on huge pages except for wide supernodes, whose upper triangles are never
// touched (Gowalla: 2.0 of the 3.4 GB mapped are ever resident).
using SingleFactor = ZeroedArray<float>;

// LLᵀ of P(XᵀX + λI)Pᵀ in float32, left-looking by supernodes, in the layout of CHOLMOD's
// supernodal factor: `symbolic` is cholmod_l_analyze's result (super, pi, px, s and Perm; no values)
// and the returned array holds its xsize values, supernode s at px[s], column-major with
// pi[s+1] − pi[s] rows. Gram entries are summed in double from X and rounded once. Returns null
// when float32 rounding leaves a pivot that is not positive (the caller then factors in double).
// Memory: xsize floats, X once more, an update buffer of 2,048 columns of the tallest supernode
// (touched only as far as used) and a panel of `batch_columns` of its columns in which narrow
// descendants' columns are gathered (tests make it small to cut batches). Both are freed before the
// last supernode's own factorization, whose Strassen workspace (dense/strassen.hpp; about n²/13
// floats for an n-column square that qualifies: 215 MB on Gowalla) takes their place. The factor
// is taken from `span` where it fits there, with its last supernode at the split (see
// common/prefaulted_span.hpp); otherwise it gets its own mapping.
SingleFactor supernodal_factor_single(const cholmod_factor& symbolic, const Csr& x, double l2, TrainContext& ctx,
                                      PrefaultedSpan* span = nullptr, int64_t batch_columns = 512);

}  // namespace cfkit
