#include <cmath>

#include "eval/metrics.hpp"
#include "harness.hpp"

using namespace cfkit;

// Ranking of the unmasked items by score: 4, 2, 0, 3 (item 1 is an input and is masked).
TEST(metrics_match_hand_computed_values) {
  const float scores[5] = {0.3f, 0.99f, 0.6f, 0.1f, 0.8f};
  const int32_t input[1] = {1};
  const int32_t target[2] = {2, 3};
  std::vector<MetricSpec> m = {{MetricKind::RecallLiang, 2}, {MetricKind::RecallBars, 1}, {MetricKind::Ndcg, 3},
                               {MetricKind::HitRate, 1},     {MetricKind::Precision, 2},  {MetricKind::Map, 4},
                               {MetricKind::Auc, 0}};
  std::vector<double> out(m.size());
  MetricScratch scratch(5);
  metrics_for_row(scores, 5, input, 1, target, 2, m, nullptr, out.data(), scratch);
  CHECK_NEAR(out[0], 1.0 / 2.0, 1e-12);                         // hit at rank 2; min(2, 2) = 2
  CHECK_NEAR(out[1], 0.0, 1e-12);                               // rank 1 is item 4
  double dcg = 1.0 / std::log2(3.0), idcg = 1.0 + 1.0 / std::log2(3.0);
  CHECK_NEAR(out[2], dcg / idcg, 1e-12);
  CHECK_NEAR(out[3], 0.0, 1e-12);
  CHECK_NEAR(out[4], 0.5, 1e-12);
  CHECK_NEAR(out[5], (1.0 / 2.0 + 2.0 / 4.0) / 2.0, 1e-12);     // hits at ranks 2 and 4
  CHECK_NEAR(out[6], 1.0 / 4.0, 1e-12);                         // pairs (2>0) only, of 2x2 = 4
}

TEST(psp_follows_infinite_ae_definition) {
  const float scores[4] = {0.9f, 0.8f, 0.7f, 0.6f};
  const int32_t target[2] = {1, 3};
  std::vector<float> w = {1.f, 2.f, 3.f, 4.f};
  std::vector<MetricSpec> m = {{MetricKind::Psp, 2}};
  double out = 0;
  MetricScratch scratch(4);
  metrics_for_row(scores, 4, nullptr, 0, target, 2, m, &w, &out, scratch);
  // top-2 = {0, 1}: hit item 1 (w=2); numerator 2 / min(2,2); denominator = sorted target w = 4 + 2.
  CHECK_NEAR(out, (2.0 / 2.0) / 6.0, 1e-12);
}
