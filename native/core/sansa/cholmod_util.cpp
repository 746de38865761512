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
  // Supernode relaxation stays at CHOLMOD's defaults, as in the reference. Larger relaxed
  // supernodes (16/64/128, 0.5) once helped ML-1M, whose factor now takes the dense path; on the
  // factors that stay supernodal they store explicit zeros and cost time: Last.fm factorize
  // 1.22 -> 0.69 s and Gowalla (λ 200, 485 M nonzeros) 223 -> 104 s and 12.7 -> 9.3 GiB with the defaults.
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
