#include "synthetic.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <vector>

namespace cfkit_gpu_check {

namespace {

using Rng = std::mt19937_64;

// Cumulative weights 1/(rank+1)^s over n items, for draws by binary search.
std::vector<double> zipf_cumulative(const std::vector<int32_t>& rank, double s) {
  std::vector<double> cum(rank.size());
  double acc = 0;
  for (size_t j = 0; j < rank.size(); ++j) cum[j] = acc += 1.0 / std::pow(double(rank[j]) + 1.0, s);
  return cum;
}

int64_t draw(const std::vector<double>& cum, Rng& rng) {
  std::uniform_real_distribution<double> u(0.0, cum.back());
  return std::min<int64_t>(std::upper_bound(cum.begin(), cum.end(), u(rng)) - cum.begin(), int64_t(cum.size()) - 1);
}

// Appends one row of the given (unsorted, unique) columns and values.
void push_row(cfkit::Csr& m, std::vector<std::pair<int32_t, float>>& row) {
  std::sort(row.begin(), row.end());
  for (const auto& e : row) {
    m.indices.push_back(e.first);
    m.values.push_back(e.second);
  }
  m.indptr.push_back(static_cast<int64_t>(m.indices.size()));
  row.clear();
}

cfkit::Csr empty_matrix(int64_t rows, int64_t cols) {
  cfkit::Csr m;
  m.rows = rows;
  m.cols = cols;
  m.indptr.reserve(size_t(rows) + 1);
  m.indptr.push_back(0);
  return m;
}

}  // namespace

cfkit::Csr clustered_implicit(int64_t users, int64_t items, int clusters, double mean, uint64_t seed) {
  Rng rng(seed);
  std::vector<int32_t> rank(items);
  std::iota(rank.begin(), rank.end(), 0);
  std::shuffle(rank.begin(), rank.end(), rng);  // popular items spread over the clusters
  std::vector<std::vector<int32_t>> members(clusters);
  std::vector<std::vector<int32_t>> member_rank(clusters);
  for (int32_t i = 0; i < items; ++i) {
    const int c = int(rng() % uint64_t(clusters));
    members[c].push_back(i);
    member_rank[c].push_back(rank[i]);
  }
  const std::vector<double> all = zipf_cumulative(rank, 0.8);
  std::vector<std::vector<double>> own(clusters);
  for (int c = 0; c < clusters; ++c) own[c] = zipf_cumulative(member_rank[c], 0.8);
  const double sigma = 0.8, mu = std::log(mean) - sigma * sigma / 2;
  std::normal_distribution<double> normal(0.0, 1.0);
  std::uniform_real_distribution<double> coin(0.0, 1.0);
  cfkit::Csr m = empty_matrix(users, items);
  std::vector<char> seen(items, 0);
  std::vector<std::pair<int32_t, float>> row;
  for (int64_t u = 0; u < users; ++u) {
    const int c = int(rng() % uint64_t(clusters));
    const int64_t target =
        std::min<int64_t>(items / 2, std::max<int64_t>(5, std::llround(std::exp(mu + sigma * normal(rng)))));
    for (int64_t attempts = 0; int64_t(row.size()) < target && attempts < target * 20; ++attempts) {
      const bool from_own = !members[c].empty() && coin(rng) < 0.75;
      const int32_t it = from_own ? members[c][draw(own[c], rng)] : int32_t(draw(all, rng));
      if (seen[it]) continue;
      seen[it] = 1;
      row.push_back({it, 1.f});
    }
    for (const auto& e : row) seen[e.first] = 0;
    push_row(m, row);
  }
  return m;
}

RatingSplit low_rank_ratings(int64_t users, int64_t items, uint64_t seed) {
  Rng rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::uniform_real_distribution<double> coin(0.0, 1.0);
  const int r = 3;
  std::vector<double> p(size_t(users) * r), q(size_t(items) * r);
  for (double& v : p) v = 0.7 * normal(rng);
  for (double& v : q) v = 0.7 * normal(rng);
  RatingSplit s{empty_matrix(users, items), empty_matrix(users, items)};
  std::vector<std::pair<int32_t, float>> train_row, test_row;
  for (int64_t u = 0; u < users; ++u) {
    for (int64_t i = 0; i < items; ++i) {
      const double c = coin(rng);
      if (c > 0.4) continue;
      double v = 3;
      for (int d = 0; d < r; ++d) v += p[size_t(u) * r + d] * q[size_t(i) * r + d];
      v += 0.05 * normal(rng);
      (c < 0.35 ? train_row : test_row).push_back({int32_t(i), float(v)});
    }
    push_row(s.train, train_row);
    push_row(s.test, test_row);
  }
  return s;
}

RatingSplit netflix_shaped(uint64_t seed) {
  const int64_t users = 480189, items = 17770, target = 25000000;
  const int r = 8;
  Rng rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::uniform_real_distribution<double> coin(0.0, 1.0);
  std::vector<int32_t> rank(items);
  std::iota(rank.begin(), rank.end(), 0);
  const std::vector<double> item_cum = zipf_cumulative(rank, 0.9);
  std::vector<float> pu(size_t(users) * r), qi(size_t(items) * r);
  for (float& v : pu) v = float(0.5 * normal(rng));
  for (float& v : qi) v = float(0.5 * normal(rng));
  RatingSplit s{empty_matrix(users, items), empty_matrix(users, items)};
  s.train.indices.reserve(18000000);
  s.train.values.reserve(18000000);
  std::vector<int32_t> seen_by(items, -1);
  std::vector<std::pair<int32_t, float>> train_row, test_row;
  int64_t n = 0;
  for (int64_t u = 0; u < users; ++u) {
    const double deg = std::exp(std::log(52.0) - 0.8 + 1.2 * normal(rng));
    const int64_t want = std::max<int64_t>(1, std::min<int64_t>(items / 2, std::llround(deg)));
    for (int64_t t = 0; t < want && n < target; ++t) {
      const int32_t i = int32_t(draw(item_cum, rng));
      if (seen_by[i] == u) continue;
      seen_by[i] = int32_t(u);
      double v = 3.6;
      for (int d = 0; d < r; ++d) v += double(pu[size_t(u) * r + d]) * qi[size_t(i) * r + d];
      v = std::min(5.0, std::max(1.0, std::round(v + 0.8 * normal(rng))));
      (coin(rng) < 0.1 ? test_row : train_row).push_back({i, float(v)});
      ++n;
    }
    push_row(s.train, train_row);
    push_row(s.test, test_row);
  }
  return s;
}

}  // namespace cfkit_gpu_check
