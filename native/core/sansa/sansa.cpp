#include "sansa/sansa.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>

#include "common/error.hpp"
#include "common/heap.hpp"
#include "common/timer.hpp"
#include "sansa/ldlt.hpp"
#include "sansa/umr.hpp"

namespace cfkit {


SansaModel::SansaModel(Csr encoder, Csr decoder) : encoder_(std::move(encoder)), decoder_(std::move(decoder)) {
  require(encoder_.cols == decoder_.rows && encoder_.rows == decoder_.cols, "SANSA encoder and decoder shapes disagree");
}

int64_t SansaModel::memory_bytes() const {
  auto bytes = [](const Csr& c) { return static_cast<int64_t>(c.indptr.size() * 8 + c.indices.size() * 4 + c.values.size() * 4); };
  return bytes(encoder_) + bytes(decoder_);
}

ScratchPool<SansaModel::Scratch>::Lease SansaModel::scratch() const {
  return scratch_->acquire([this] {
    Scratch w;
    w.h.assign(size_t(encoder_.cols), 0.0);
    w.s.assign(size_t(encoder_.rows), 0.0);
    w.latent_bits.assign(size_t((encoder_.cols + 63) / 64), 0);
    w.item_bits.assign(size_t((encoder_.rows + 63) / 64), 0);
    w.latent.reserve(size_t(encoder_.cols));  // so encode_row never allocates with h half-written
    return w;
  });
}

int64_t SansaModel::encode_row(const Csr& inputs, int64_t r, Scratch& w) const {
  for (int64_t p = inputs.indptr[r]; p < inputs.indptr[r + 1]; ++p) {
    const int32_t item = inputs.indices[p];
    const double a = inputs.values[p];
    for (int64_t q = encoder_.indptr[item]; q < encoder_.indptr[item + 1]; ++q) {
      const int32_t i = encoder_.indices[q];
      w.latent_bits[size_t(i) >> 6] |= uint64_t(1) << (i & 63);
      w.h[i] += a * encoder_.values[q];
    }
  }
  // List the reached entries once, ascending, without a pass over all of h; clear the bits as read.
  w.latent.clear();
  int64_t visits = 0;
  for (size_t word = 0; word < w.latent_bits.size(); ++word) {
    for (uint64_t bits = w.latent_bits[word]; bits; bits &= bits - 1) {
      const int32_t i = int32_t(word * 64 + __builtin_ctzll(bits));
      if (w.h[i] == 0.0) continue;
      w.latent.push_back(i);
      visits += decoder_.indptr[i + 1] - decoder_.indptr[i];
    }
    w.latent_bits[word] = 0;
  }
  return visits;
}

namespace {
// s += Σ h[i] · (decoder row i) over the listed latent entries; with `marks`, also sets the bit of
// every item reached.
template <bool kMark>
void decode(const Csr& decoder, const std::vector<int32_t>& latent, const double* h, double* s, uint64_t* marks) {
  const size_t m = latent.size();
  for (size_t j = 0; j < m; ++j) {
    const int32_t i = latent[j];
    const double a = h[i];
    for (int64_t q = decoder.indptr[i]; q < decoder.indptr[i + 1]; ++q) {
      const int32_t c = decoder.indices[q];
      s[c] += a * decoder.values[q];
      if (kMark) marks[size_t(c) >> 6] |= uint64_t(1) << (c & 63);
    }
  }
}
}  // namespace

void SansaModel::score(const Csr& inputs, const int32_t*, int64_t begin, int64_t end, float* out) const {
  const int64_t n_items = encoder_.rows;
  auto lease = scratch();
  Scratch& w = *lease;
  for (int64_t r = begin; r < end; ++r) {
    const int64_t visits = encode_row(inputs, r, w);
    decode<false>(decoder_, w.latent, w.h.data(), w.s.data(), nullptr);
    float* o = out + (r - begin) * n_items;
    if (visits * 2 < n_items) {
      // Few items reached: copy out only those (o[c] += turns a second visit into adding 0).
      std::fill(o, o + n_items, 0.f);
      for (int32_t i : w.latent)
        for (int64_t q = decoder_.indptr[i]; q < decoder_.indptr[i + 1]; ++q) {
          const int32_t c = decoder_.indices[q];
          o[c] += static_cast<float>(w.s[c]);
          w.s[c] = 0.0;
        }
    } else {
      for (int64_t c = 0; c < n_items; ++c) {
        o[c] = static_cast<float>(w.s[c]);
        w.s[c] = 0.0;
      }
    }
    for (int32_t i : w.latent) w.h[i] = 0.0;
  }
}

bool SansaModel::score_sparse_row(const Csr& inputs, int64_t r, SparseRow& out) const {
  auto lease = scratch();
  Scratch& w = *lease;
  const int64_t visits = encode_row(inputs, r, w);
  // Listing costs a bit per decoder entry visited and a few steps per item reached; a dense row
  // costs a copy-out, a top-k scan and a mask over the whole catalogue. The cut at twice the
  // catalogue is a judgement: on Gowalla, cuts from one to six times gave timings within the
  // machine's noise for the heaviest users.
  const bool sparse = visits < 2 * encoder_.rows;
  try {
    if (sparse) {
      out.items.clear();
      out.scores.clear();
      const size_t most = size_t(std::min(visits, encoder_.rows));  // items reached, at most
      out.items.reserve(most);
      out.scores.reserve(most);
      decode<true>(decoder_, w.latent, w.h.data(), w.s.data(), w.item_bits.data());
      for (size_t word = 0; word < w.item_bits.size(); ++word) {
        for (uint64_t bits = w.item_bits[word]; bits; bits &= bits - 1) {
          const int32_t c = int32_t(word * 64 + __builtin_ctzll(bits));
          out.items.push_back(c);
          out.scores.push_back(static_cast<float>(w.s[c]));
          w.s[c] = 0.0;
        }
        w.item_bits[word] = 0;
      }
    }
  } catch (...) {
    // The buffers go back to the pool, so they must go back zeroed.
    std::fill(w.h.begin(), w.h.end(), 0.0);
    std::fill(w.s.begin(), w.s.end(), 0.0);
    std::fill(w.item_bits.begin(), w.item_bits.end(), 0);
    throw;
  }
  for (int32_t i : w.latent) w.h[i] = 0.0;
  return sparse;
}

double SansaModel::estimated_ns(const Csr& inputs) const {
  // Decoder entries visited, counting a latent entry once per input item that reaches it: an upper
  // bound, 1.5 to 3 times the true count for long histories. Gowalla users on a 2-core AMD EPYC took
  // 0.7 to 1.6 ns per counted entry (the longer the history, the less), 5.5 ns for a median user.
  double visits = 0;
  for (int64_t p = 0; p < inputs.nnz(); ++p) {
    const int32_t item = inputs.indices[p];
    for (int64_t q = encoder_.indptr[item]; q < encoder_.indptr[item + 1]; ++q) visits += double(decoder_.row_size(encoder_.indices[q]));
  }
  return 1.5 * visits + 0.1 * double(inputs.rows) * double(encoder_.rows) + 20e3 * double(inputs.rows);
}

void SansaModel::item_similarity(int32_t item, float* out) const {
  score(one_hot_rows(encoder_.rows, {item}), nullptr, 0, 1, out);
}

SansaModel sansa_weights(const std::vector<int64_t>& perm, const std::vector<double>& d, Csr m) {
  const int64_t n = static_cast<int64_t>(perm.size());
  std::vector<int64_t> inv(n);
  for (int64_t j = 0; j < n; ++j) inv[perm[j]] = j;
  // W[:, c] = M[:, inv[c]]; the encoder W₁ = Wᵀ has row c = that column.
  Csr enc;
  enc.rows = n;
  enc.cols = n;
  enc.indptr.assign(n + 1, 0);
  for (int64_t c = 0; c < n; ++c) enc.indptr[c + 1] = enc.indptr[c] + m.row_size(inv[c]);
  enc.indices.resize(enc.indptr[n]);
  enc.values.resize(enc.indptr[n]);
  std::vector<double> col_scale(n);  // −1 / Σ_i W_ic² / D_i
  for (int64_t c = 0; c < n; ++c) {
    const int64_t j = inv[c];
    double diag = 0;
    int64_t q = enc.indptr[c];
    for (int64_t p = m.indptr[j]; p < m.indptr[j + 1]; ++p, ++q) {
      const int32_t i = m.indices[p];
      enc.indices[q] = i;
      enc.values[q] = m.values[p];
      diag += double(m.values[p]) * m.values[p] / d[i];
    }
    col_scale[c] = -1.0 / diag;
    // Rows of M within a column are diagonal-first; the encoder's rows must be sorted.
    std::vector<std::pair<int32_t, float>> tmp;
    for (int64_t p = enc.indptr[c]; p < enc.indptr[c + 1]; ++p) tmp.emplace_back(enc.indices[p], enc.values[p]);
    std::sort(tmp.begin(), tmp.end());
    for (size_t t = 0; t < tmp.size(); ++t) {
      enc.indices[enc.indptr[c] + t] = tmp[t].first;
      enc.values[enc.indptr[c] + t] = tmp[t].second;
    }
  }
  m = Csr();
  // Decoder W₂[i, c] = W_ic / D_i · col_scale[c]: the transpose of the encoder, rescaled.
  Csr dec = transpose(enc);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t p = dec.indptr[i]; p < dec.indptr[i + 1]; ++p)
      dec.values[p] = static_cast<float>(double(dec.values[p]) / d[i] * col_scale[dec.indices[p]]);
  return SansaModel(std::move(enc), std::move(dec));
}

SansaModel fit_sansa(const Csr& x, const SansaOptions& opts, TrainContext& ctx, SansaStats* stats) {
  require(x.rows > 0 && x.cols > 0 && x.nnz() > 0, "SANSA: the training matrix is empty");
  require(std::isfinite(opts.l2) && opts.l2 >= 0, "SANSA: l2 must be a finite number >= 0");
  require(std::isfinite(opts.density) && opts.density > 0 && opts.density <= 1, "SANSA: density must be in (0, 1]");
  const int64_t n = x.cols;
  const double density = std::max(opts.density, 2.0 / double(n));
  const int64_t target = std::min<int64_t>(n * n, static_cast<int64_t>(std::ceil(density * double(n) * double(n))));
  SansaStats local;
  SansaStats& st = stats ? *stats : local;
  st.n_items = n;
  Ldlt f = opts.factorizer == Factorizer::Cholmod ? ldlt_cholmod(x, opts, target, ctx, &st)
                                                  : ldlt_icf(x, opts.l2, target, opts.ordering, opts.icf, ctx, &st);
  ctx.check_abort();
  auto t0 = std::chrono::steady_clock::now();
  Csr m;
  if (opts.inverter == Inverter::Exact) {
    m = exact_inverse(f.l, target, ctx);
    st.umr_loss.push_back(inverse_loss(f.l, m, ctx));
  } else {
    // The reference gives M the density of L, not the requested one: they differ when ICF columns
    // did not fill their shares or when the exact factor is sparser than the target.
    m = umr_inverse(f.l, f.l.nnz(), opts.umr, ctx, &st.umr_loss);
  }
  st.nnz_inverse = m.nnz();
  st.seconds_inverse = seconds_since(t0);
  ctx.check_abort();
  t0 = std::chrono::steady_clock::now();
  ctx.report("weights", 0);
  // L is not needed past this point, and the UMR's per-column buffers were freed into the heap,
  // which glibc keeps unless asked to return it. Without this both stay resident after the fit
  // (Last.fm ICF at 5e-2: RSS when the weights start 928 -> 698 MiB; the peak, inside UMR, is unchanged).
  f.l = Csr();
  release_free_heap();
  SansaModel model = sansa_weights(f.perm, f.d, std::move(m));
  // An l2 beyond float32's range (1e39) turns the factor into inf and the decoder into NaN.
  for (const Csr* w : {&model.encoder(), &model.decoder()})
    for (float v : w->values)
      if (!std::isfinite(v)) {
        char why[200];
        std::snprintf(why, sizeof why, "SANSA: the weights are not finite (l2 = %g overflows float32, whose limit is 3.4e38): use a smaller l2", opts.l2);
        fail(ErrorCode::Numeric, why);
      }
  st.seconds_weights = seconds_since(t0);
  st.nnz_weights = model.encoder().nnz() + model.decoder().nnz();
  ctx.report("weights", 1);
  return model;
}

}  // namespace cfkit
