// RAII around CHOLMOD's long-index API, and a zero-copy cholmod_sparse view of Xᵀ: X in CSR
// (users x items) is exactly Xᵀ in CSC (items x users).
#pragma once
#include <cholmod.h>

#include <cstdint>
#include <vector>

#include "sansa/options.hpp"
#include "sparse/csr.hpp"

namespace cfkit {

class CholmodCommon {
 public:
  explicit CholmodCommon(Ordering ordering, bool supernodal);
  ~CholmodCommon();
  CholmodCommon(const CholmodCommon&) = delete;
  CholmodCommon& operator=(const CholmodCommon&) = delete;
  cholmod_common* get() { return &c_; }
  // Throws E_NUMERIC / E_INTERNAL when CHOLMOD reported an error.
  void check(const char* what);

 private:
  cholmod_common c_;
};

// Holds the double values and int64 pointers CHOLMOD's long API needs; `sparse` views them.
struct XtView {
  std::vector<SuiteSparse_long> p, i;
  std::vector<double> x;
  cholmod_sparse sparse;
  explicit XtView(const Csr& xcsr);
};

}  // namespace cfkit
