#include "mf/mf.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cmath>
#include <limits>
#include <mutex>
#include <numeric>
#include <random>
#include <string>

#include "common/error.hpp"
#include "common/parallel.hpp"
#include "dense/lapack.hpp"
#include "mf/mf_kernels.hpp"
#include "mf/mf_prep.hpp"
#include "mf/mf_pruning.hpp"
#include "mf/mf_side.hpp"

using cfkit::mf::dot;
using cfkit::mf::float_to_half;
using cfkit::mf::half_to_float;
using cfkit::mf::sgd_step;
using cfkit::mf::update;
using cfkit::mf::CountOrder;
using cfkit::mf::Rating;
using cfkit::mf::init_factors;
using cfkit::mf::SplitMix;
using cfkit::mf::GroupStats;
using cfkit::mf::Side;
using cfkit::mf::step_rows;

namespace cfkit {

namespace {

// The part (0..parts-1) of every id: ids in a random order, cut where the running rating count
// passes each multiple of total/parts, so parts hold about equal numbers of ratings. Parts are
// random samples, not ranges of the count-sorted ids: with ranges, one block holds only the most
// (or least) rated items and a user's updates come in bursts that each fit one popularity band.
// Netflix-shaped validation RMSE after 10 epochs at B = 64: 0.9211 with ranges, 0.9133 with random
// parts (one shuffled block, on one thread: 0.9083).
std::vector<int32_t> random_balanced_parts(const std::vector<int64_t>& counts, int parts, uint64_t seed) {
  const int64_t n = static_cast<int64_t>(counts.size());
  std::vector<int32_t> ids(n);
  std::iota(ids.begin(), ids.end(), 0);
  SplitMix rng{seed};
  for (int64_t t = n - 1; t > 0; --t) std::swap(ids[t], ids[rng.below(t + 1)]);
  int64_t total = 0;
  for (int64_t c : counts) total += c;
  std::vector<int32_t> part(n);
  int64_t acc = 0;
  int cur = 0;
  for (int32_t id : ids) {
    part[id] = cur;
    acc += counts[id];
    while (cur + 1 < parts && acc * parts >= total * (cur + 1)) ++cur;
  }
  return part;
}

// Blocks are stored wave by wave: block (user part a, item part b) belongs to wave (b − a) mod B
// and sits at index wave·B + a, so the B blocks of a wave, which share no user or item, lie side
// by side and a thread's share of a wave is one range of ratings.
inline int64_t block_index(int user_part, int item_part, int B) { return int64_t((item_part - user_part + B) % B) * B + user_part; }

// Every rating as (new user, new item, r − offset), grouped by block of the B x B grid (block_ptr
// gets B² + 1 offsets, in block_index order) and in a uniformly random order inside each block.
// Users are walked part by part, so the scatter writes to the B blocks of one user part at a time,
// and each block is then shuffled by its own generator, seeded from `seed` and the block: the
// order does not depend on the thread count.
std::vector<Rating> block_ratings(const Csr& ratings, const mf::CountOrder& c, double offset, const std::vector<int32_t>& upart,
                                  const std::vector<int32_t>& ipart, int B, uint64_t seed, int threads, std::vector<int64_t>& block_ptr) {
  std::vector<int32_t> users_by_part(ratings.rows);
  {
    std::vector<int64_t> at(B + 1, 0);
    for (int64_t u = 0; u < ratings.rows; ++u) at[upart[c.user_new[u]] + 1]++;
    for (int b = 0; b < B; ++b) at[b + 1] += at[b];
    for (int64_t u = 0; u < ratings.rows; ++u) users_by_part[at[upart[c.user_new[u]]]++] = static_cast<int32_t>(u);
  }
  block_ptr.assign(size_t(B) * B + 1, 0);
  for (int64_t u = 0; u < ratings.rows; ++u) {
    const int a = upart[c.user_new[u]];
    for (int64_t p = ratings.indptr[u]; p < ratings.indptr[u + 1]; ++p) block_ptr[block_index(a, ipart[c.item_new[ratings.indices[p]]], B) + 1]++;
  }
  for (size_t b = 0; b + 1 < block_ptr.size(); ++b) block_ptr[b + 1] += block_ptr[b];
  std::vector<Rating> out(ratings.nnz());
  std::vector<int64_t> next(block_ptr.begin(), block_ptr.end() - 1);
  for (int32_t u : users_by_part) {
    const int32_t nu = c.user_new[u];
    const int a = upart[nu];
    for (int64_t p = ratings.indptr[u]; p < ratings.indptr[u + 1]; ++p) {
      const int32_t ni = c.item_new[ratings.indices[p]];
      out[next[block_index(a, ipart[ni], B)]++] = {nu, ni, static_cast<float>(double(ratings.values[p]) - offset)};
    }
  }
  parallel_chunks(int64_t(B) * B, 16, threads, [&](int64_t b0, int64_t b1, int) {
    for (int64_t b = b0; b < b1; ++b) {
      mf::SplitMix rng = mf::SplitMix::stream(seed, uint64_t(b));
      for (int64_t t = block_ptr[b + 1] - 1; t > block_ptr[b]; --t) std::swap(out[t], out[block_ptr[b] + int64_t(rng.below(t - block_ptr[b] + 1))]);
    }
  });
  return out;
}

}  // namespace

MfModel::MfModel(int64_t users, int64_t items, int k, std::vector<float> p, std::vector<float> q, double fold_in_l2, double mean)
    : users_(users), items_(items), k_(k), p_(std::move(p)), q_(std::move(q)), fold_in_l2_(fold_in_l2), mean_(mean) {
  require(static_cast<int64_t>(p_.size()) == users_ * k_ && static_cast<int64_t>(q_.size()) == items_ * k_,
          "MF factors have the wrong size");
}

float MfModel::predict(int64_t u, int64_t i) const { return static_cast<float>(mean_ + mf::dot(&p_[u * k_], &q_[i * k_], k_)); }

void MfModel::score(const Csr& inputs, const int32_t* row_users, int64_t begin, int64_t end, float* out) const {
  std::vector<double> a(size_t(k_) * k_), b(k_);
  std::vector<float> p(k_);
  for (int64_t r = begin; r < end; ++r) {
    const float* pu;
    if (row_users) {
      pu = &p_[int64_t(row_users[r]) * k_];
    } else {
      // Ridge fold-in: (Σ q qᵀ + λI) p = Σ r·q over the row's items.
      std::fill(a.begin(), a.end(), 0.0);
      std::fill(b.begin(), b.end(), 0.0);
      const double rated = double(std::max<int64_t>(1, inputs.row_size(r)));
      for (int64_t t = inputs.indptr[r]; t < inputs.indptr[r + 1]; ++t) {
        const float* qi = &q_[int64_t(inputs.indices[t]) * k_];
        const double rv = double(inputs.values[t]) - mean_;
        for (int x = 0; x < k_; ++x) {
          b[x] += rv * qi[x];
          for (int y = 0; y <= x; ++y) a[size_t(y) * k_ + x] += double(qi[x]) * qi[y];
        }
      }
      // SGD applies λ once per rating, so the matching ridge is λ·(number of ratings).
      for (int x = 0; x < k_; ++x) a[size_t(x) * k_ + x] += fold_in_l2_ * rated;
      if (lapack::potrf_lower(k_, a.data()) != 0 || lapack::potrs_lower(k_, 1, a.data(), b.data()) != 0)
        std::fill(b.begin(), b.end(), 0.0);
      for (int x = 0; x < k_; ++x) p[x] = static_cast<float>(b[x]);
      pu = p.data();
    }
    float* o = out + (r - begin) * items_;
    for (int64_t i = 0; i < items_; ++i) o[i] = static_cast<float>(mean_ + mf::dot(pu, &q_[i * k_], k_));
  }
}

void MfModel::item_similarity(int32_t item, float* out) const { mf::cosines(q_.data(), items_, k_, item, out); }

void report_mf_epoch(TrainContext& ctx, const MfEpoch& ep, int epochs) {
  std::vector<std::pair<std::string, double>> fig = {{"epoch", ep.epoch}, {"trainRmse", ep.train_rmse}, {"seconds", ep.seconds},
                                                     {"lr", ep.lr}, {"groupsSwitched", double(ep.groups_switched)},
                                                     {"activeFactors", ep.mean_active_factors}};
  if (ep.valid_rmse >= 0) fig.push_back({"validRmse", ep.valid_rmse});
  ctx.report("epoch", double(ep.epoch) / epochs, ep.train_rmse, std::move(fig));
}

double mf_rmse(const MfModel& m, const Csr& ratings, int threads) {
  const int64_t chunks = std::max<int64_t>(1, std::min<int64_t>(ratings.rows, 256));
  std::vector<double> part(chunks, 0.0);
  parallel_chunks(chunks, 1, threads, [&](int64_t c0, int64_t c1, int) {
    for (int64_t c = c0; c < c1; ++c) {
      const int64_t u0 = ratings.rows * c / chunks, u1 = ratings.rows * (c + 1) / chunks;
      double s = 0;
      for (int64_t u = u0; u < u1; ++u)
        for (int64_t p = ratings.indptr[u]; p < ratings.indptr[u + 1]; ++p) {
          const double e = double(ratings.values[p]) - m.predict(u, ratings.indices[p]);
          s += e * e;
        }
      part[c] = s;
    }
  });
  double total = 0;
  for (double s : part) total += s;
  return ratings.nnz() ? std::sqrt(total / double(ratings.nnz())) : 0.0;
}

void require_finite_epoch(const MfEpoch& ep, const MfOptions& o) {
  if (std::isfinite(ep.train_rmse)) return;
  char why[320];
  std::snprintf(why, sizeof why,
                "MF diverged in epoch %d (the training RMSE is not finite): lower lr.alpha (%g), l2 (%g, %g) or init.std (%g)",
                ep.epoch, o.lr_alpha, o.l2_user, o.l2_item, o.init_std);
  fail(ErrorCode::Numeric, why);
}

MfTrainResult train_mf(const Csr& ratings, const Csr* valid, const MfOptions& o, TrainContext& ctx,
                       const std::function<void(const MfEpoch&)>& on_epoch) {
  const int64_t U = ratings.rows, I = ratings.cols;
  const int k = o.factors;
  require(U > 0 && I > 0 && ratings.nnz() > 0, "MF: the rating matrix is empty");
  require(k >= 1 && k <= 4096, "MF: factors must be in [1, 4096]");
  require(o.epochs >= 1, "MF: epochs must be >= 1");
  require(o.prune_rate >= 0 && o.prune_rate < 1, "MF: pruning rate must be in [0, 1)");
  require(o.prune_rate == 0 || o.prune_rearrange_every >= 1, "MF: pruning.rearrangeEvery must be >= 1");
  require(o.blocks >= 0 && o.blocks <= 1024, "MF: blocks must be in [0, 1024] (0: chosen automatically)");
  require(!valid || (valid->rows == U && valid->cols == I), "MF: validation ratings must use the training users and items");
  const bool mascot = o.precision == MfPrecision::Mascot;
  const bool half = o.precision != MfPrecision::Fp32;
  const bool pruning = o.prune_rate > 0;
  SplitMix rng{o.seed};

  // Relabel by rating count (contiguous MASCOT groups; harmless otherwise).
  const CountOrder order = mf::count_order(ratings, o.mascot_user_groups, o.mascot_item_groups);
  const std::vector<int32_t>&unew = order.user_new, &inew = order.item_new, &ugroup = order.user_group,
                        &igroup = order.item_group;

  // Blocks: a B x B grid over random rating-balanced parts; blocks of one wave never share a user
  // or an item, so threads never race and the factors do not depend on the thread count.
  // - Locality: B is enough that one block's user and item rows (about (U + I)·k·bytes / B) stay in
  //   a 512 KiB share of L2, up to 64. One thread gains as well (Netflix-shaped fp32: 1.01 -> 0.75 s
  //   per epoch).
  // - Accuracy: every row meets the ratings of one block in a burst, and long bursts make SGD noisy.
  //   So B is also large enough for about 150 ratings per block, up to 128. Measured: ML-1M 90/10
  //   test RMSE at 50 epochs 0.8369 with B = 10, 0.8349 with B = 80 (5 splits, α 0.025, λ 0.05), 18.5 -> 22 ms
  //   per epoch; Netflix-shaped validation RMSE at 25 epochs 0.9025 with B = 64 (wandering by
  //   ±0.005 between epochs), 0.8913 with B = 128, for 0.76 -> 0.84 s per epoch.
  // - At least 2 blocks per thread. Threads beyond half the grid the data asks for would only shrink
  //   the blocks, and a grid sized by `threads` costs B² bookkeeping and B waves per epoch (threads:
  //   1000 on 4.4k ratings took over 90 s in the hardening audit), so the threads used are capped by the data.
  int B = 1;
  int threads = ctx.threads();
  if (o.blocks > 0) {
    B = o.blocks;
    threads = std::min(threads, std::max(1, B / 2));
  } else {
    const double bytes = double(U + I) * k * (half ? 2.0 : 4.0);
    const int for_cache = std::min(64, static_cast<int>(std::ceil(bytes / (512.0 * 1024))));
    const int for_bursts = std::min(128, static_cast<int>(std::ceil(std::sqrt(double(ratings.nnz()) / 150.0))));
    B = std::max(for_cache, for_bursts);
    threads = std::min(threads, std::max(1, B / 2));
    if (threads > 1) B = std::max(2 * threads, B);
  }
  const std::vector<int32_t> upart = random_balanced_parts(order.user_count, B, rng.next()),
                             ipart = random_balanced_parts(order.item_count, B, rng.next());
  const double mean = mf::rating_offset(ratings, o.center);
  std::vector<int64_t> block_ptr;
  const std::vector<Rating> sorted = block_ratings(ratings, order, mean, upart, ipart, B, rng.next(), threads, block_ptr);

  // Parameters.
  Side P, Q;
  P.rows = U;
  Q.rows = I;
  P.k = Q.k = k;
  for (Side* s : {&P, &Q}) {
    s->f32.assign(size_t(s->rows) * k, 0.f);
    if (half) s->f16.assign(size_t(s->rows) * k, 0);
  }
  if (mascot) {
    P.group = ugroup;
    Q.group = igroup;
    P.group_f32.assign(*std::max_element(ugroup.begin(), ugroup.end()) + 1, 0);
    Q.group_f32.assign(*std::max_element(igroup.begin(), igroup.end()) + 1, 0);
  }
  for (Side* s : {&P, &Q}) {
    init_factors(rng, o.init_uniform, o.init_scale, o.init_std, k, s->f32.data(), s->f32.size(), threads);
    if (half) {
      float_to_half(s->f32.data(), s->f16.data(), s->f32.size());
      // fp16 rows are the truth from here on; keep fp32 storage only where MASCOT may switch.
      half_to_float(s->f16.data(), s->f32.data(), s->f32.size());
    }
  }
  if (half && !mascot) {
    P.f32 = {};
    Q.f32 = {};
  }
  std::vector<int> dim_order(k);
  std::iota(dim_order.begin(), dim_order.end(), 0);

  MfTrainResult res;
  int switched = 0;
  std::vector<double> base_user, base_item;
  for (int epoch = 0; epoch < o.epochs; ++epoch) {
    ctx.check_abort();
    auto t0 = std::chrono::steady_clock::now();
    const float lr = static_cast<float>(o.lr_alpha / (1.0 + o.lr_beta * std::pow(double(epoch), 1.5)));
    const float lu = static_cast<float>(o.l2_user), li = static_cast<float>(o.l2_item);
    if (pruning && epoch == 0)
      for (Side* s : {&P, &Q}) s->length.assign(s->rows, static_cast<uint16_t>(k));
    if (pruning && epoch > 0 && epoch % o.prune_rearrange_every == 0)
      mf::rearrange_and_prune(P, Q, o.prune_rate, threads, dim_order);
    double active_sum = 0;
    const bool estimate = mascot && epoch >= 5 && (epoch - 5) % std::max(1, o.mascot_interval) == 0 && epoch < o.epochs - 1;
    std::vector<GroupStats> ustats, istats;
    if (estimate)
      for (int t = 0; t < threads; ++t) {
        ustats.emplace_back(P.group_f32.size(), k);
        istats.emplace_back(Q.group_f32.size(), k);
      }
    std::vector<double> sse(threads, 0.0), active(threads, 0.0);
    // Waves of B blocks with distinct user and item parts, in a random order each epoch. A wave's
    // blocks are stored side by side, so a thread's share of a wave is one range of ratings.
    std::vector<int> waves(B);
    std::iota(waves.begin(), waves.end(), 0);
    for (int t = B - 1; t > 0; --t) std::swap(waves[t], waves[rng.below(t + 1)]);
    // One team for the whole epoch: a wave's blocks go to the threads from a shared counter, and the
    // team meets at a barrier before the next wave (blocks of a wave share no rows, consecutive waves
    // do). Starting threads for every wave cost B spawns and joins per epoch (ML-1M: 78). Scratch
    // rows are allocated up front: nothing inside the team may throw and leave the others waiting.
    const int team = static_cast<int>(std::min<int64_t>(threads, B));
    TeamBarrier barrier(team);
    std::vector<std::atomic<int64_t>> next_block(B);
    for (auto& c : next_block) c.store(0, std::memory_order_relaxed);
    // Thread 0's abort decision for each wave, written before that wave's barrier and read after it.
    // One flag per wave: with a single flag, thread 0 could already set it during wave w + 1 while
    // a slow thread was still leaving barrier w, which then quit a wave early and left thread 0
    // waiting at the next barrier for ever.
    std::vector<char> stop_after(B, 0);
    std::vector<std::vector<float>> scratch(size_t(team) * 3, std::vector<float>(k));
    run_threads(team, [&](int tid) {
        std::vector<float>&pbuf = scratch[3 * tid], &qbuf = scratch[3 * tid + 1], &grad = scratch[3 * tid + 2];
        // Updates [from, to); those from sample_from on feed MASCOT's error estimate.
        auto run = [&](int64_t from, int64_t to, int64_t sample_from) {
          double local_sse = 0, local_active = 0;
          int64_t t = from;
          if (switched == 0) {
            // Every row in one precision (MASCOT too, until a group switches): the updates up to
            // the sampled tail in one kernel call.
            const uint16_t* plen = pruning ? P.length.data() : nullptr;
            const uint16_t* qlen = pruning ? Q.length.data() : nullptr;
            const int64_t n = sample_from - from;
            const mf::RunTotals tot = half ? mf::sgd_run(&sorted[from], n, P.f16.data(), Q.f16.data(), k, plen, qlen, lr, lu, li)
                                           : mf::sgd_run(&sorted[from], n, P.f32.data(), Q.f32.data(), k, plen, qlen, lr, lu, li);
            local_sse = tot.sse;
            local_active = tot.active;
            t = sample_from;
          }
          constexpr int64_t kAhead = 6;
          for (; t < to; ++t) {
            if (t + kAhead < to) {
              const Rating& y = sorted[t + kAhead];
              P.prefetch(y.u, pruning ? P.length[y.u] : k);
              Q.prefetch(y.i, pruning ? Q.length[y.i] : k);
            }
            const Rating& x = sorted[t];
            const int m = pruning ? std::min(P.length[x.u], Q.length[x.i]) : k;
            const bool sampled = t >= sample_from;
            if (!sampled) {
              const float e = step_rows(P, Q, x.u, x.i, m, x.r, lr, lu, li);
              local_sse += double(e) * e;
              local_active += m;
              continue;
            }
            // Sampled for MASCOT's error estimate: the same step as sgd_step(), with the gradients.
            float* p = P.load(x.u, pbuf.data(), m);
            float* q = Q.load(x.i, qbuf.data(), m);
            const float e = x.r - dot(p, q, m);
            local_sse += double(e) * e;
            local_active += m;
            if (!P.row_is_f32(x.u)) {
              for (int d = 0; d < m; ++d) grad[d] = e * q[d] - lu * p[d];
              ustats[tid].add(P.group[x.u], grad.data(), m);
            }
            if (!Q.row_is_f32(x.i)) {
              for (int d = 0; d < m; ++d) grad[d] = e * p[d] - li * q[d];
              istats[tid].add(Q.group[x.i], grad.data(), m);
            }
            update(p, q, m, e, lr, lu, li);
            P.store(x.u, p, m);
            Q.store(x.i, q, m);
          }
          sse[tid] += local_sse;
          active[tid] += local_active;
        };
        for (int w = 0; w < B; ++w) {
          const int64_t wave = int64_t(waves[w]) * B;
          for (int64_t b; (b = next_block[w].fetch_add(1, std::memory_order_relaxed)) < B;) {
            const int64_t from = block_ptr[wave + b], to = block_ptr[wave + b + 1];
            run(from, to, estimate ? to - static_cast<int64_t>(o.mascot_sample_ratio * double(to - from)) : to);
          }
          if (tid == 0 && ctx.aborted()) stop_after[w] = 1;
          barrier.arrive_and_wait();
          if (stop_after[w]) return;
        }
    });
    ctx.check_abort();
    double total_sse = 0;
    for (int t = 0; t < threads; ++t) {
      total_sse += sse[t];
      active_sum += active[t];
    }
    if (estimate) {
      // q-error per fp16 group: ‖Σg‖² / Σ‖g‖², normalised by its value at the first estimate.
      auto errors = [&](std::vector<GroupStats>& st, size_t groups) {
        std::vector<double> err(groups, -1.0);
        for (size_t g = 0; g < groups; ++g) {
          double sq = 0, nn = 0;
          for (int d = 0; d < k; ++d) {
            double s = 0;
            for (auto& x : st) s += x.sum[g * k + d];
            sq += s * s;
          }
          for (auto& x : st) nn += x.sq[g];
          if (nn > 0) err[g] = sq / nn;
        }
        return err;
      };
      std::vector<double> ue = errors(ustats, P.group_f32.size()), ie = errors(istats, Q.group_f32.size());
      if (base_user.empty()) {
        base_user = ue;
        base_item = ie;
      } else {
        for (size_t g = 0; g < ue.size(); ++g)
          if (!P.group_f32[g] && ue[g] >= 0 && base_user[g] > 0 && ue[g] / base_user[g] > o.mascot_threshold) {
            P.switch_group(static_cast<int>(g));
            ++switched;
          }
        for (size_t g = 0; g < ie.size(); ++g)
          if (!Q.group_f32[g] && ie[g] >= 0 && base_item[g] > 0 && ie[g] / base_item[g] > o.mascot_threshold) {
            Q.switch_group(static_cast<int>(g));
            ++switched;
          }
      }
    }
    MfEpoch ep;
    ep.epoch = epoch + 1;
    ep.train_rmse = std::sqrt(total_sse / double(sorted.size()));
    require_finite_epoch(ep, o);
    ep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ep.lr = lr;
    ep.groups_switched = switched;
    ep.mean_active_factors = active_sum / double(sorted.size());
    if (valid && valid->nnz() > 0) {
      // Validation in the original labels, through the current parameters.
      std::vector<float> pb(k), qb(k);
      ep.valid_rmse = mf::validation_rmse(*valid, order, mean, k, [&](int side, int32_t row) {
        return side == 0 ? P.load(row, pb.data(), k) : Q.load(row, qb.data(), k);
      });
    }
    res.epochs.push_back(ep);
    report_mf_epoch(ctx, ep, o.epochs);
    if (on_epoch) on_epoch(ep);
  }
  // Back to the caller's user and item order, in fp32.
  std::vector<float> p(size_t(U) * k), q(size_t(I) * k), tmp(k);
  for (int64_t u = 0; u < U; ++u) std::copy_n(P.load(unew[u], tmp.data(), k), k, &p[size_t(u) * k]);
  for (int64_t i = 0; i < I; ++i) std::copy_n(Q.load(inew[i], tmp.data(), k), k, &q[size_t(i) * k]);
  res.model = std::make_shared<MfModel>(U, I, k, std::move(p), std::move(q), std::max(o.l2_user, 1e-6), mean);
  res.groups_total = mascot ? static_cast<int>(P.group_f32.size() + Q.group_f32.size()) : 0;
  res.dimension_order = dim_order;
  return res;
}

}  // namespace cfkit
