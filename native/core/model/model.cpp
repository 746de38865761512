#include "model/model.hpp"

#include <algorithm>
#include <limits>

#include "common/error.hpp"

namespace cfkit {

void FixedScores::score(const Csr& inputs, const int32_t*, int64_t begin, int64_t end, float* out) const {
  require(inputs.rows == rows_, "fixed scores: the score matrix must have one row per input row");
  std::copy(scores_.begin() + begin * items_, scores_.begin() + end * items_, out);
}

void FixedScores::item_similarity(int32_t, float*) const { fail(ErrorCode::Input, "fixed scores have no item similarity"); }

}  // namespace cfkit
