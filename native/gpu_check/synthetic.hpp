// Generated data for the GPU check program, which runs where Node does not: the shapes the jest GPU
// tests and bench/ use, built in C++ (other random streams than the JS generators, same structure).
#pragma once
#include <cstdint>

#include "sparse/csr.hpp"

namespace cfkit_gpu_check {

struct RatingSplit {
  cfkit::Csr train, test;
};

// Implicit feedback with planted taste clusters, Zipf item popularity (exponent 0.8) and log-normal
// user activity around `mean` (at least 5): the structure of lib/data/synthetic.ts.
cfkit::Csr clustered_implicit(int64_t users, int64_t items, int clusters, double mean, uint64_t seed);

// Ratings 3 + p·q from rank-3 factors (N(0, 0.7²) entries) plus N(0, 0.05²) noise on 40 % of the
// cells, 35 % to train and 5 % to test: test/helpers/ratings.ts's lowRank.
RatingSplit low_rank_ratings(int64_t users, int64_t items, uint64_t seed);

// bench/mf.js's Netflix-shaped set: 480,189 users x 17,770 items, Zipf(0.9) items, log-normal user
// degrees, values round(3.6 + rank-8 structure + N(0, 0.8²)) clipped to 1..5, about 19.6M ratings
// after duplicates are dropped, 10 % of them held out (about 17.6M to train).
RatingSplit netflix_shaped(uint64_t seed);

}  // namespace cfkit_gpu_check
