#include <limits>
#include <stdexcept>

#include "harness.hpp"
#include "sparse/csr.hpp"
#include "sparse/topk.hpp"
#include "util.hpp"

using namespace cfkit;

TEST(transpose_twice_is_identity) {
  Csr a = cfkit_test::random_binary(50, 30, 6, 1);
  Csr t = transpose(a);
  CHECK(t.rows == 30 && t.cols == 50 && t.nnz() == a.nnz());
  Csr back = transpose(t);
  CHECK(back.indptr == a.indptr && back.indices == a.indices && back.values == a.values);
  t.validate("t");
}

TEST(validate_rejects_bad_matrices) {
  Csr a = cfkit_test::random_binary(5, 5, 2, 2);
  Csr bad = a;
  bad.indices[0] = 7;
  CHECK_THROWS(bad.validate("m"));
  bad = a;
  bad.values[0] = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS(bad.validate("m"));
  bad = a;
  bad.indptr[1] = bad.indptr[2] + 1;
  CHECK_THROWS(bad.validate("m"));
}

TEST(topk_orders_by_score_then_id_and_skips_masked) {
  const float s[6] = {0.5f, 0.9f, 0.9f, -1.f, 0.1f, 0.95f};
  ItemMask mask(6);
  mask.next_row();
  mask.set(5);
  int32_t ids[4];
  float sc[4];
  int n = topk_row(s, 6, 4, mask, ids, sc);
  CHECK(n == 4);
  CHECK(ids[0] == 1 && ids[1] == 2 && ids[2] == 0 && ids[3] == 4);
}

TEST(topk_never_returns_masked_items_when_short) {
  const float s[3] = {-5.f, -6.f, -7.f};
  ItemMask mask(3);
  mask.next_row();
  mask.set(0);
  mask.set(2);
  int32_t ids[3];
  float sc[3];
  int n = topk_row(s, 3, 3, mask, ids, sc);
  CHECK(n == 1);
  CHECK(ids[0] == 1 && ids[1] == -1 && ids[2] == -1);
  mask.next_row();  // a new row clears the mask
  n = topk_row(s, 3, 3, mask, ids, sc);
  CHECK(n == 3 && ids[0] == 0);
}

TEST(topk_filters_keep_only_allowed_unblocked_items_above_the_least_score_and_fill_k) {
  // scores by item: 0.9 0.8 0.7 0.6 0.5 0.4 0.3 0.2 0.1 0.0
  float s[10];
  for (int i = 0; i < 10; ++i) s[i] = 0.9f - 0.1f * float(i);
  ItemMask mask(10);
  mask.next_row();
  mask.set(1);
  ItemBitset allowed(10), blocked(10);
  for (int i : {0, 1, 2, 3, 5, 7, 8}) allowed.set(i);
  blocked.set(2);
  CHECK(allowed.count() == 7);
  int32_t ids[3];
  float sc[3];
  // allowed and not masked or blocked: 0, 3, 5, 7, 8 -> the best three
  int n = topk_row(s, 10, 3, mask, ids, sc, {&allowed, &blocked});
  CHECK(n == 3 && ids[0] == 0 && ids[1] == 3 && ids[2] == 5);
  // a least score of 0.35 leaves 0 and 3 and 5 (0.4); 0.45 leaves two, padded with -1
  n = topk_row(s, 10, 3, mask, ids, sc, {&allowed, &blocked, 0.45f});
  CHECK(n == 2 && ids[0] == 0 && ids[1] == 3 && ids[2] == -1);
  // over a candidate list: only those, with the same filters
  const int32_t candidates[4] = {9, 8, 2, 1};
  n = topk_among(s, candidates, 4, 3, mask, ids, sc, {nullptr, &blocked});
  CHECK(n == 2 && ids[0] == 8 && ids[1] == 9 && ids[2] == -1);
}

