#include "sansa/cholmod_util.hpp"

#include <cstring>
#include <string>

#include "common/error.hpp"

namespace cfkit {

CholmodCommon::CholmodCommon(Ordering ordering, bool supernodal) {
  cholmod_l_start(&c_);
  c_.print = 0;  // errors come back as exceptions, never on stdout
  c_.error_handler = nullptr;
  c_.nmethods = 1;
  c_.method[0].ordering = ordering == Ordering::Natural ? CHOLMOD_NATURAL
                          : ordering == Ordering::Amd   ? CHOLMOD_AMD
                                                        : CHOLMOD_COLAMD;
  c_.postorder = ordering == Ordering::Natural ? 0 : 1;
  c_.supernodal = supernodal ? CHOLMOD_SUPERNODAL : CHOLMOD_SIMPLICIAL;
  c_.final_ll = 1;
  // Supernode relaxation: CHOLMOD's defaults, except that supernodes of more than 48 columns may
  // hold 1 % explicit zeros rather than 5 %. The zeros only change how the factor is stored: its
  // values, and so the model, are the same. But they are factored like any entry, and with the
  // BLAS at its peak they are pure cost. The factorization's flop count is about Σ c_j² over the
  // stored column counts c_j: Gowalla's factor (λ 200, 485 M nonzeros) stored 9.1e12 against
  // 8.16e12 for its exact pattern; at 1 % it stores 8.28e12, and the fit takes 48 s instead of
  // 51-52 s (Last.fm unchanged). 0.5 % and 0 split the dense
  // tail into supernodes too narrow for the BLAS and were slower; 3 % was in between. Larger
  // relaxation (16/64/128, 0.5) cost more still: Gowalla factorize 223 s vs 104 s in double.
  c_.zrelax[2] = 0.01;
}

CholmodCommon::~CholmodCommon() { cholmod_l_finish(&c_); }

void CholmodCommon::check(const char* what) {
  if (c_.status == CHOLMOD_OUT_OF_MEMORY)
    fail(ErrorCode::Numeric, std::string(what) + ": CHOLMOD ran out of memory (the exact factor is too large; use the ICF factorizer)");
  if (c_.status < CHOLMOD_OK) fail(ErrorCode::Internal, std::string(what) + ": CHOLMOD failed with status " + std::to_string(c_.status));
}

XtView::XtView(const Csr& xcsr) : p(xcsr.indptr.begin(), xcsr.indptr.end()), i(xcsr.indices.begin(), xcsr.indices.end()),
                                  x(xcsr.values.begin(), xcsr.values.end()) {
  std::memset(&sparse, 0, sizeof sparse);
  sparse.nrow = static_cast<size_t>(xcsr.cols);
  sparse.ncol = static_cast<size_t>(xcsr.rows);
  sparse.nzmax = static_cast<size_t>(xcsr.nnz());
  sparse.p = p.data();
  sparse.i = i.data();
  sparse.x = x.data();
  sparse.stype = 0;  // unsymmetric: CHOLMOD factors AAᵀ = XᵀX
  sparse.itype = CHOLMOD_LONG;
  sparse.xtype = CHOLMOD_REAL;
  sparse.dtype = CHOLMOD_DOUBLE;
  sparse.sorted = 1;
  sparse.packed = 1;
}

}  // namespace cfkit
