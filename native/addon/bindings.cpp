// The functions the TS layer calls. Each converts arguments, then either does microseconds of work
// inline or hands a closure to start_job().
#include <napi.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <memory>

#include "common/parallel.hpp"

#include "abort_flag.hpp"
#include "addon_data.hpp"
#include "bindings.hpp"
#include "common/error.hpp"
#include "convert.hpp"
#include "device/cuda_backend.hpp"
#include "device/device_models.hpp"
#include "ease/ease.hpp"
#include "eval/metrics.hpp"
#include "guard.hpp"
#include "info/backend.hpp"
#include "job.hpp"
#include "model/recommend.hpp"
#include "model_handle.hpp"
#include "sansa/sansa.hpp"
#include "infae/distill.hpp"
#include "infae/infae.hpp"
#include "mf/ials.hpp"
#include "mf/mf.hpp"

namespace cfkit_addon {

using cfkit::ErrorCode;
using cfkit::fail;

namespace {

// Optional training-user index per input row, checked against the model's user count.
std::shared_ptr<std::vector<int32_t>> row_users(const Napi::Value& v, const cfkit::Model& model, int64_t rows) {
  if (!v.IsTypedArray()) return nullptr;
  auto users = std::make_shared<std::vector<int32_t>>(vector_from_typed<int32_t>(v, "users"));
  if (static_cast<int64_t>(users->size()) != rows) fail(ErrorCode::Input, "users must hold one index per input row");
  const int64_t n = model.num_users();
  if (n < 0) return nullptr;
  for (int32_t u : *users)
    if (u < 0 || u >= n) fail(ErrorCode::Input, "user index " + std::to_string(u) + " out of range [0, " + std::to_string(n) + ")");
  return users;
}

using SharedBitset = std::shared_ptr<const cfkit::ItemBitset>;

// itemFilter(numItems, items: Int32Array) -> an opaque handle on a native bitset of those items,
// freed by the GC. Built once, passed to many recommend calls.
Napi::Value item_filter(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    const int64_t n = int_arg(info[0], "numItems", 1, INT32_MAX);
    std::vector<int32_t> items = vector_from_typed<int32_t>(info[1], "items");
    auto bits = std::make_shared<cfkit::ItemBitset>(n);
    for (int32_t i : items) {
      if (i < 0 || i >= n) fail(ErrorCode::Input, "filter item index " + std::to_string(i) + " out of range");
      bits->set(i);
    }
    auto* holder = new SharedBitset(std::move(bits));
    return Napi::External<SharedBitset>::New(env, holder, [](Napi::Env, SharedBitset* h) { delete h; });
  });
}

// A recommend call's filters; the holders keep the parts alive while the job runs.
struct FilterArgs {
  std::shared_ptr<cfkit::Csr> exclude, include;
  SharedBitset exclude_all, include_all;
  float min_score = -std::numeric_limits<float>::infinity();
  std::shared_ptr<std::vector<uint8_t>> fallback_rows;
  std::shared_ptr<std::vector<float>> fallback_scores;
  cfkit::RecommendFilters view() const { return {exclude.get(), exclude_all.get(), include.get(), include_all.get(), min_score}; }
  cfkit::Fallback fallback() const {
    return {fallback_rows ? fallback_rows->data() : nullptr, fallback_scores ? fallback_scores->data() : nullptr};
  }
};

// `rows` query rows over `items` items; fallbackRows (Uint8Array, one per row) and fallbackScores
// (Float32Array, one per item) are checked against them.
FilterArgs filters_from_js(const Napi::Object& o, int64_t rows, int64_t items) {
  FilterArgs f;
  if (o.Get("fallbackRows").IsTypedArray()) {
    f.fallback_rows = std::make_shared<std::vector<uint8_t>>(vector_from_typed<uint8_t>(o.Get("fallbackRows"), "fallbackRows"));
    if (static_cast<int64_t>(f.fallback_rows->size()) != rows) fail(ErrorCode::Input, "fallbackRows must hold one flag per row");
  }
  if (o.Get("fallbackScores").IsTypedArray()) {
    f.fallback_scores = std::make_shared<std::vector<float>>(vector_from_typed<float>(o.Get("fallbackScores"), "fallbackScores"));
    if (static_cast<int64_t>(f.fallback_scores->size()) != items) fail(ErrorCode::Input, "fallbackScores must hold one score per item");
  }
  auto bitset = [](const Napi::Value& v, const char* what) -> SharedBitset {
    if (!v.IsExternal()) fail(ErrorCode::Input, std::string(what) + " must be an ItemFilter");
    return *v.As<Napi::External<SharedBitset>>().Data();
  };
  if (o.Get("exclude").IsObject()) f.exclude = std::make_shared<cfkit::Csr>(csr_from_js(o.Get("exclude"), "exclude"));
  if (o.Get("include").IsObject()) f.include = std::make_shared<cfkit::Csr>(csr_from_js(o.Get("include"), "include"));
  if (!o.Get("excludeFilter").IsUndefined()) f.exclude_all = bitset(o.Get("excludeFilter"), "excludeFilter");
  if (!o.Get("includeFilter").IsUndefined()) f.include_all = bitset(o.Get("includeFilter"), "includeFilter");
  if (o.Get("minScore").IsNumber()) f.min_score = static_cast<float>(o.Get("minScore").As<Napi::Number>().DoubleValue());
  return f;
}

Napi::Object topk_to_js(Napi::Env env, const cfkit::TopK& t) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("rows", Napi::Number::New(env, double(t.rows)));
  o.Set("k", Napi::Number::New(env, t.k));
  // One buffer for both arrays: a serving call makes one backing store, not two.
  const size_t n = t.ids.size();
  Napi::ArrayBuffer buf = Napi::ArrayBuffer::New(env, n * (sizeof(int32_t) + sizeof(float)));
  auto* bytes = static_cast<uint8_t*>(buf.Data());
  std::memcpy(bytes, t.ids.data(), n * sizeof(int32_t));
  std::memcpy(bytes + n * sizeof(int32_t), t.scores.data(), n * sizeof(float));
  o.Set("ids", Napi::Int32Array::New(env, n, buf, 0));
  o.Set("scores", Napi::Float32Array::New(env, n, buf, n * sizeof(int32_t)));
  return o;
}

// easeFit(x: Csr, {l2, float64}, jobOptions) -> Promise<ModelHandle>
Napi::Value ease_fit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    auto x = std::make_shared<cfkit::Csr>(csr_from_js(info[0], "training matrix"));
    Napi::Object o = info[1].IsObject() ? info[1].As<Napi::Object>() : Napi::Object::New(env);
    cfkit::EaseOptions opts;
    opts.l2 = number_field(o, "l2", opts.l2);
    opts.float64 = bool_field(o, "float64", false);
    auto result = std::make_shared<std::shared_ptr<cfkit::Model>>();
    return start_job(
        env, "cfkit.easeFit", job_options(info[2]),
        [x, opts, result](cfkit::TrainContext& ctx) {
          *result = std::make_shared<cfkit::EaseModel>(cfkit::fit_ease(*x, opts, ctx));
        },
        [result](Napi::Env e) -> Napi::Value { return ModelHandle::wrap(e, *result); });
  });
}

// easeFromWeights(nItems, weights: Float32Array) -> ModelHandle
Napi::Value ease_from_weights(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    int64_t n = int_arg(info[0], "nItems", 1, 46340);
    if (!info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
      fail(ErrorCode::Input, "weights must be a Float32Array");
    Napi::Float32Array src = info[1].As<Napi::Float32Array>();
    if (static_cast<int64_t>(src.ElementLength()) != n * n) fail(ErrorCode::Format, "EASE weights must hold nItems² values");
    const float* s = src.Data();
    cfkit::Buffer<float> w(n * n);
    for (int64_t k = 0; k < n * n; ++k) {
      if (!std::isfinite(s[k])) fail(ErrorCode::Format, "EASE weights contain a non-finite value");
      w[k] = s[k];
    }
    return ModelHandle::wrap(env, std::make_shared<cfkit::EaseModel>(n, std::move(w)));
  });
}

cfkit::SansaOptions sansa_options(const Napi::Object& o) {
  cfkit::SansaOptions s;
  s.l2 = number_field(o, "l2", s.l2);
  s.density = number_field(o, "density", s.density);
  auto str = [&](const char* k, const char* fallback) {
    Napi::Value v = o.Get(k);
    return v.IsString() ? v.As<Napi::String>().Utf8Value() : std::string(fallback);
  };
  std::string fz = str("factorizer", "icf"), ord = str("ordering", "colamd"), inv = str("inverse", "umr");
  if (fz != "cholmod" && fz != "icf") fail(ErrorCode::Input, "factorizer must be 'cholmod' or 'icf'");
  if (ord != "colamd" && ord != "amd" && ord != "natural") fail(ErrorCode::Input, "ordering must be 'colamd', 'amd' or 'natural'");
  if (inv != "umr" && inv != "exact") fail(ErrorCode::Input, "inverse must be 'umr' or 'exact'");
  s.factorizer = fz == "cholmod" ? cfkit::Factorizer::Cholmod : cfkit::Factorizer::Icf;
  s.ordering = ord == "amd" ? cfkit::Ordering::Amd : ord == "natural" ? cfkit::Ordering::Natural : cfkit::Ordering::Colamd;
  s.inverter = inv == "exact" ? cfkit::Inverter::Exact : cfkit::Inverter::Umr;
  s.umr.scans = static_cast<int>(number_field(o, "scans", s.umr.scans));
  s.umr.finetune = static_cast<int>(number_field(o, "finetune", s.umr.finetune));
  s.umr.log_norm_threshold = number_field(o, "logNormThreshold", s.umr.log_norm_threshold);
  s.umr.loss_threshold = number_field(o, "lossThreshold", s.umr.loss_threshold);
  s.icf.shift_step = number_field(o, "shiftStep", s.icf.shift_step);
  s.icf.shift_multiplier = number_field(o, "shiftMultiplier", s.icf.shift_multiplier);
  s.icf.max_restarts = static_cast<int>(number_field(o, "maxRestarts", s.icf.max_restarts));
  return s;
}

Napi::Object sansa_stats_to_js(Napi::Env env, const cfkit::SansaStats& st) {
  Napi::Object o = Napi::Object::New(env);
  Napi::Object sec = Napi::Object::New(env);
  sec.Set("ordering", st.seconds_ordering);
  sec.Set("factorize", st.seconds_factorize);
  sec.Set("sparsify", st.seconds_sparsify);
  sec.Set("inverse", st.seconds_inverse);
  sec.Set("weights", st.seconds_weights);
  o.Set("seconds", sec);
  o.Set("items", double(st.n_items));
  o.Set("nnzFactorFull", double(st.nnz_factor_full));
  o.Set("denseFactor", st.dense_factor);
  o.Set("float32Factor", st.single_factor);
  o.Set("nnzL", double(st.nnz_l));
  o.Set("nnzInverse", double(st.nnz_inverse));
  o.Set("nnzWeights", double(st.nnz_weights));
  o.Set("icfRestarts", st.icf_restarts);
  o.Set("icfShift", st.icf_shift);
  o.Set("umrLoss", to_js(env, st.umr_loss));
  return o;
}

// sansaFit(x: Csr, options, jobOptions) -> Promise<{model: ModelHandle, stats}>
Napi::Value sansa_fit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    auto x = std::make_shared<cfkit::Csr>(csr_from_js(info[0], "training matrix"));
    cfkit::SansaOptions opts = sansa_options(info[1].IsObject() ? info[1].As<Napi::Object>() : Napi::Object::New(env));
    auto model = std::make_shared<std::shared_ptr<cfkit::Model>>();
    auto stats = std::make_shared<cfkit::SansaStats>();
    return start_job(
        env, "cfkit.sansaFit", job_options(info[2]),
        [x, opts, model, stats](cfkit::TrainContext& ctx) {
          *model = std::make_shared<cfkit::SansaModel>(cfkit::fit_sansa(*x, opts, ctx, stats.get()));
        },
        [model, stats](Napi::Env e) -> Napi::Value {
          Napi::Object r = Napi::Object::New(e);
          r.Set("model", ModelHandle::wrap(e, *model));
          r.Set("stats", sansa_stats_to_js(e, *stats));
          return r;
        });
  });
}

// sansaFromWeights(encoder: Csr, decoder: Csr) -> ModelHandle
Napi::Value sansa_from_weights(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    cfkit::Csr enc = csr_from_js(info[0], "encoder"), dec = csr_from_js(info[1], "decoder");
    if (enc.cols != dec.rows || enc.rows != dec.cols) fail(ErrorCode::Format, "SANSA encoder and decoder shapes disagree");
    return ModelHandle::wrap(env, std::make_shared<cfkit::SansaModel>(std::move(enc), std::move(dec)));
  });
}

// infaeFit(support: Csr, {lambdas: Float64Array, float64, cuda, validation?: {inputs, targets}}, jobOptions)
//   -> Promise<{model, lambda, grid: [{lambda, hr100}], seconds: {gram, kernel, solve}}>
Napi::Value infae_fit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    auto xs = std::make_shared<cfkit::Csr>(csr_from_js(info[0], "support matrix"));
    Napi::Object o = info[1].As<Napi::Object>();
    cfkit::InfAeFitOptions opts;
    opts.lambdas = vector_from_typed<double>(o.Get("lambdas"), "lambdas");
    opts.float64 = bool_field(o, "float64", false);
    if (bool_field(o, "cuda", false)) opts.device_solve = cfkit::device::infae_device_solve();
    std::shared_ptr<cfkit::Csr> vin, vtg;
    if (o.Get("validation").IsObject()) {
      Napi::Object v = o.Get("validation").As<Napi::Object>();
      vin = std::make_shared<cfkit::Csr>(csr_from_js(v.Get("inputs"), "validation inputs"));
      vtg = std::make_shared<cfkit::Csr>(csr_from_js(v.Get("targets"), "validation targets"));
      if (vin->cols != xs->cols || vtg->cols != xs->cols || vin->rows != vtg->rows)
        fail(ErrorCode::Input, "validation inputs and targets must match the support's items and each other's rows");
    }
    auto res = std::make_shared<cfkit::InfAeFitResult>();
    return start_job(
        env, "cfkit.infaeFit", job_options(info[2]),
        [xs, opts, vin, vtg, res](cfkit::TrainContext& ctx) {
          *res = cfkit::fit_infae(*xs, opts, vin.get(), vtg.get(), ctx);
          if (opts.device_solve) res->model->set_device_score(cfkit::device::infae_device_score(*res->model));
        },
        [res](Napi::Env e) -> Napi::Value {
          Napi::Object r = Napi::Object::New(e);
          r.Set("model", ModelHandle::wrap(e, res->model));
          r.Set("lambda", res->lambda);
          Napi::Array grid = Napi::Array::New(e, res->grid.size());
          for (size_t g = 0; g < res->grid.size(); ++g) {
            Napi::Object p = Napi::Object::New(e);
            p.Set("lambda", res->grid[g].lambda);
            p.Set("hr100", res->grid[g].validation_hr100);
            grid.Set(static_cast<uint32_t>(g), p);
          }
          r.Set("grid", grid);
          Napi::Object sec = Napi::Object::New(e);
          sec.Set("gram", res->seconds_gram);
          sec.Set("kernel", res->seconds_kernel);
          sec.Set("solve", res->seconds_solve);
          r.Set("seconds", sec);
          return r;
        });
  });
}

// infaeKernel(rows: Csr, support: Csr) -> Float32Array (rows x support): the NTK, for checks and
// for users who want the kernel itself.
Napi::Value infae_kernel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    cfkit::Csr rows = csr_from_js(info[0], "rows"), xs = csr_from_js(info[1], "support");
    if (rows.cols != xs.cols) fail(ErrorCode::Input, "rows and support must have the same items");
    if (rows.rows * xs.rows > (int64_t(1) << 28)) fail(ErrorCode::Input, "kernel too large to return at once");
    const int64_t nr = rows.rows, ns = xs.rows;
    cfkit::InfAeModel model(std::move(xs), cfkit::Buffer<float>(0));
    std::vector<float> out(nr * ns);
    if (nr > 0) model.kernel_rows(rows, 0, nr, out.data());
    return to_js(env, out);
  });
}

// distill(real: Csr, options, validation: {inputs, targets} | null, jobOptions)
//   -> Promise<{synthetic: Csr parts, lambda, hr100, bestStep, loss: Float64Array}>
Napi::Value distill(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    auto x = std::make_shared<cfkit::Csr>(csr_from_js(info[0], "training matrix"));
    Napi::Object o = info[1].As<Napi::Object>();
    cfkit::DistillOptions d;
    d.budget = static_cast<int>(int_arg(o.Get("budget"), "budget", 2, INT32_MAX));
    d.gumbel_samples = static_cast<int>(int_arg(o.Get("gumbelSamples"), "gumbelSamples", 1, 100000));
    d.tau = number_field(o, "tau", d.tau);
    d.steps = static_cast<int>(int_arg(o.Get("steps"), "steps", 1, 10000000));
    d.lr = number_field(o, "lr", d.lr);
    d.cardinality_reg = number_field(o, "cardinalityReg", d.cardinality_reg);
    d.seed = static_cast<uint64_t>(number_field(o, "seed", 42));
    d.eval_every = static_cast<int>(number_field(o, "evalEvery", d.eval_every));
    if (o.Get("lambdas").IsTypedArray()) d.lambdas = vector_from_typed<double>(o.Get("lambdas"), "lambdas");
    if (bool_field(o, "cuda", false)) d.device = cfkit::device::distill_device();
    std::shared_ptr<cfkit::Csr> vin, vtg;
    if (info[2].IsObject()) {
      Napi::Object v = info[2].As<Napi::Object>();
      vin = std::make_shared<cfkit::Csr>(csr_from_js(v.Get("inputs"), "validation inputs"));
      vtg = std::make_shared<cfkit::Csr>(csr_from_js(v.Get("targets"), "validation targets"));
      if (vin->cols != x->cols || vtg->cols != x->cols || vin->rows != vtg->rows)
        fail(ErrorCode::Input, "validation inputs and targets must match the training items and each other's rows");
    }
    auto res = std::make_shared<cfkit::DistillResult>();
    return start_job(
        env, "cfkit.distill", job_options(info[3]),
        [x, d, vin, vtg, res](cfkit::TrainContext& ctx) { *res = cfkit::distill(*x, vin.get(), vtg.get(), d, ctx); },
        [res](Napi::Env e) -> Napi::Value {
          Napi::Object r = Napi::Object::New(e);
          const cfkit::Csr& s = res->synthetic;
          Napi::Object syn = Napi::Object::New(e);
          syn.Set("rows", double(s.rows));
          syn.Set("cols", double(s.cols));
          syn.Set("indptr", to_js(e, std::vector<int32_t>(s.indptr.begin(), s.indptr.end())));
          syn.Set("indices", to_js(e, s.indices));
          syn.Set("values", to_js(e, s.values));
          r.Set("synthetic", syn);
          r.Set("lambda", res->lambda);
          r.Set("hr100", res->best_hr100);
          r.Set("bestStep", res->best_step);
          r.Set("loss", to_js(e, res->loss));
          return r;
        });
  });
}

// infaeFromWeights(support: Csr, alphaT: Float32Array) -> ModelHandle
Napi::Value infae_from_weights(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    cfkit::Csr xs = csr_from_js(info[0], "support");
    std::vector<float> a = vector_from_typed<float>(info[1], "alphaT");
    if (static_cast<int64_t>(a.size()) != xs.rows * xs.cols) fail(ErrorCode::Format, "∞-AE weights must hold items x support values");
    cfkit::Buffer<float> buf(a.size());
    for (size_t k = 0; k < a.size(); ++k) {
      if (!std::isfinite(a[k])) fail(ErrorCode::Format, "∞-AE weights contain a non-finite value");
      buf[k] = a[k];
    }
    return ModelHandle::wrap(env, std::make_shared<cfkit::InfAeModel>(std::move(xs), std::move(buf)));
  });
}

// mfFit(ratings: Csr, options, valid: Csr | null, jobOptions) -> Promise<{model, epochs, groupsTotal, dimensionOrder}>
Napi::Value mf_fit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    auto x = std::make_shared<cfkit::Csr>(csr_from_js(info[0], "ratings"));
    Napi::Object o = info[1].As<Napi::Object>();
    cfkit::MfOptions m;
    m.factors = static_cast<int>(int_arg(o.Get("factors"), "factors", 1, 4096));
    m.epochs = static_cast<int>(int_arg(o.Get("epochs"), "epochs", 1, 100000));
    m.lr_alpha = number_field(o, "lrAlpha", m.lr_alpha);
    m.lr_beta = number_field(o, "lrBeta", m.lr_beta);
    m.l2_user = number_field(o, "l2User", m.l2_user);
    m.l2_item = number_field(o, "l2Item", m.l2_item);
    m.init_std = number_field(o, "initStd", m.init_std);
    m.init_uniform = bool_field(o, "initUniform", false);
    m.init_scale = number_field(o, "initScale", m.init_scale);
    m.seed = static_cast<uint64_t>(number_field(o, "seed", 42));
    const std::string prec = o.Get("precision").IsString() ? o.Get("precision").As<Napi::String>().Utf8Value() : "fp32";
    if (prec != "fp32" && prec != "fp16" && prec != "mascot") fail(ErrorCode::Input, "precision must be 'fp32', 'fp16' or 'mascot'");
    m.precision = prec == "fp16" ? cfkit::MfPrecision::Fp16 : prec == "mascot" ? cfkit::MfPrecision::Mascot : cfkit::MfPrecision::Fp32;
    m.mascot_user_groups = static_cast<int>(number_field(o, "userGroups", m.mascot_user_groups));
    m.mascot_item_groups = static_cast<int>(number_field(o, "itemGroups", m.mascot_item_groups));
    m.mascot_interval = static_cast<int>(number_field(o, "interval", m.mascot_interval));
    m.mascot_sample_ratio = number_field(o, "sampleRatio", m.mascot_sample_ratio);
    m.mascot_threshold = number_field(o, "threshold", m.mascot_threshold);
    m.center = bool_field(o, "center", false);
    m.prune_rate = number_field(o, "pruneRate", 0);
    m.prune_rearrange_every = static_cast<int>(number_field(o, "rearrangeEvery", m.prune_rearrange_every));
    m.blocks = static_cast<int>(number_field(o, "blocks", 0));
    cfkit::MfDeviceTrain device;
    if (bool_field(o, "cuda", false)) device = cfkit::device::mf_device_train();
    std::shared_ptr<cfkit::Csr> valid;
    if (info[2].IsObject()) valid = std::make_shared<cfkit::Csr>(csr_from_js(info[2], "validation ratings"));
    auto res = std::make_shared<cfkit::MfTrainResult>();
    return start_job(
        env, "cfkit.mfFit", job_options(info[3]),
        [x, m, valid, res, device](cfkit::TrainContext& ctx) {
          *res = device ? cfkit::train_mf_on_device(*x, valid.get(), m, ctx, nullptr, device)
                        : cfkit::train_mf(*x, valid.get(), m, ctx, nullptr);
        },
        [res](Napi::Env e) -> Napi::Value {
          Napi::Object r = Napi::Object::New(e);
          r.Set("model", ModelHandle::wrap(e, res->model));
          Napi::Array eps = Napi::Array::New(e, res->epochs.size());
          for (size_t t = 0; t < res->epochs.size(); ++t) {
            const cfkit::MfEpoch& ep = res->epochs[t];
            Napi::Object p = Napi::Object::New(e);
            p.Set("epoch", ep.epoch);
            p.Set("trainRmse", ep.train_rmse);
            if (ep.valid_rmse >= 0) p.Set("validRmse", ep.valid_rmse);
            p.Set("seconds", ep.seconds);
            p.Set("lr", ep.lr);
            p.Set("groupsSwitched", ep.groups_switched);
            p.Set("activeFactors", ep.mean_active_factors);
            eps.Set(static_cast<uint32_t>(t), p);
          }
          r.Set("epochs", eps);
          r.Set("groupsTotal", res->groups_total);
          r.Set("mean", res->model->mean());
          r.Set("dimensionOrder", to_js(e, std::vector<int32_t>(res->dimension_order.begin(), res->dimension_order.end())));
          return r;
        });
  });
}

// A rows x k factor matrix from a model file: E_FORMAT unless it has that size and finite values.
std::vector<float> factors_from_js(const Napi::Value& v, int64_t rows, int k, const char* model) {
  std::vector<float> f = vector_from_typed<float>(v, "factors");
  if (static_cast<int64_t>(f.size()) != rows * k) fail(ErrorCode::Format, std::string(model) + " factor arrays have the wrong size");
  for (float x : f)
    if (!std::isfinite(x)) fail(ErrorCode::Format, std::string(model) + " factors contain a non-finite value");
  return f;
}

// ialsFit(x: Csr, options, jobOptions) -> Promise<{model, epochs}>
Napi::Value ials_fit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    auto x = std::make_shared<cfkit::Csr>(csr_from_js(info[0], "interactions"));
    Napi::Object o = info[1].As<Napi::Object>();
    cfkit::IalsOptions m;
    m.factors = static_cast<int>(int_arg(o.Get("factors"), "factors", 1, 4096));
    m.epochs = static_cast<int>(int_arg(o.Get("epochs"), "epochs", 1, 100000));
    m.cg_steps = static_cast<int>(int_arg(o.Get("cgSteps"), "cgSteps", 0, 4096));
    m.l2 = number_field(o, "l2", m.l2);
    m.unobserved_weight = number_field(o, "unobservedWeight", m.unobserved_weight);
    m.reg_exponent = number_field(o, "regularizationExponent", m.reg_exponent);
    m.init_std = number_field(o, "initStd", m.init_std);
    m.seed = static_cast<uint64_t>(number_field(o, "seed", 42));
    auto res = std::make_shared<cfkit::IalsTrainResult>();
    return start_job(
        env, "cfkit.ialsFit", job_options(info[2]), [x, m, res](cfkit::TrainContext& ctx) { *res = cfkit::train_ials(*x, m, ctx); },
        [res](Napi::Env e) -> Napi::Value {
          Napi::Object r = Napi::Object::New(e);
          r.Set("model", ModelHandle::wrap(e, res->model));
          Napi::Array eps = Napi::Array::New(e, res->epochs.size());
          for (size_t t = 0; t < res->epochs.size(); ++t) {
            Napi::Object p = Napi::Object::New(e);
            p.Set("epoch", res->epochs[t].epoch);
            p.Set("loss", res->epochs[t].loss);
            p.Set("seconds", res->epochs[t].seconds);
            eps.Set(static_cast<uint32_t>(t), p);
          }
          r.Set("epochs", eps);
          return r;
        });
  });
}

// ialsFromFactors(users, items, k, w: Float32Array, h: Float32Array, l2, unobservedWeight, regularizationExponent) -> ModelHandle
Napi::Value ials_from_factors(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    const int64_t users = int_arg(info[0], "users", 0, INT32_MAX), items = int_arg(info[1], "items", 1, INT32_MAX);
    const int k = static_cast<int>(int_arg(info[2], "factors", 1, 4096));
    std::vector<float> w = factors_from_js(info[3], users, k, "iALS"), h = factors_from_js(info[4], items, k, "iALS");
    auto number = [&](size_t i, const char* name) {
      const double v = info[i].IsNumber() ? info[i].As<Napi::Number>().DoubleValue() : -1;
      if (!(std::isfinite(v) && v >= 0)) fail(ErrorCode::Format, std::string("iALS ") + name + " must be a finite number >= 0");
      return v;
    };
    const double l2 = number(5, "l2"), alpha0 = number(6, "unobservedWeight"), nu = number(7, "regularizationExponent");
    // Fold-in solves α₀ HᵀH + λ_u I + ...: with both zero a new user with no items has a singular system.
    if (l2 == 0 && alpha0 == 0) fail(ErrorCode::Format, "iALS l2 and unobservedWeight cannot both be 0");
    return ModelHandle::wrap(env, std::make_shared<cfkit::IalsModel>(users, items, k, std::move(w), std::move(h), l2, alpha0, nu));
  });
}

// detachBuffers(views: ArrayBufferView[]) -> number of buffers detached. The model loader calls it on
// sections whose values the addon has copied: detaching frees their memory now instead of at a
// later garbage collection, so a loaded model holds its arrays once.
Napi::Value detach_buffers(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    if (!info[0].IsArray()) fail(ErrorCode::Input, "detachBuffers takes an array of typed arrays");
    Napi::Array list = info[0].As<Napi::Array>();
    uint32_t detached = 0;
    for (uint32_t i = 0; i < list.Length(); ++i) {
      Napi::Value v = list.Get(i);
      if (!v.IsTypedArray()) continue;
      Napi::ArrayBuffer buffer = v.As<Napi::TypedArray>().ArrayBuffer();
      // Buffers that cannot be detached (external or shared memory) are left alone.
      if (!buffer.IsDetached() && napi_detach_arraybuffer(env, buffer) == napi_ok) ++detached;
    }
    return Napi::Number::New(env, detached);
  });
}

// mfFromWeights(users, items, k, p: Float32Array, q: Float32Array, foldInL2) -> ModelHandle
Napi::Value mf_from_weights(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    const int64_t users = int_arg(info[0], "users", 0, INT32_MAX), items = int_arg(info[1], "items", 1, INT32_MAX);
    const int k = static_cast<int>(int_arg(info[2], "factors", 1, 4096));
    std::vector<float> p = factors_from_js(info[3], users, k, "MF"), q = factors_from_js(info[4], items, k, "MF");
    const double l2 = info[5].IsNumber() ? info[5].As<Napi::Number>().DoubleValue() : 0.05;
    const double mean = info[6].IsNumber() ? info[6].As<Napi::Number>().DoubleValue() : 0.0;
    // A λ ≤ 0 makes the fold-in system singular (every new user scores 0), a non-finite mean every score NaN.
    if (!(std::isfinite(l2) && l2 > 0)) fail(ErrorCode::Format, "MF fold-in λ must be a positive finite number, got " + std::to_string(l2));
    if (!std::isfinite(mean)) fail(ErrorCode::Format, "MF rating mean is not finite");
    return ModelHandle::wrap(env, std::make_shared<cfkit::MfModel>(users, items, k, std::move(p), std::move(q), l2, mean));
  });
}

// mfPredict(handle, users: Int32Array, items: Int32Array) -> Float32Array
Napi::Value mf_predict(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    auto model = ModelHandle::model_of(info[0]);
    auto* mf = dynamic_cast<cfkit::MfModel*>(model.get());
    if (!mf) fail(ErrorCode::Input, "predict needs a matrix factorization model");
    std::vector<int32_t> u = vector_from_typed<int32_t>(info[1], "users"), it = vector_from_typed<int32_t>(info[2], "items");
    if (u.size() != it.size()) fail(ErrorCode::Input, "users and items must have the same length");
    std::vector<float> out(u.size());
    for (size_t t = 0; t < u.size(); ++t) {
      if (u[t] < 0 || u[t] >= mf->num_users() || it[t] < 0 || it[t] >= mf->num_items())
        fail(ErrorCode::Input, "user or item index out of range at position " + std::to_string(t));
      out[t] = mf->predict(u[t], it[t]);
    }
    return to_js(env, out);
  });
}

// fixedScores(scores: Float32Array, rows, items) -> ModelHandle
Napi::Value fixed_scores(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    int64_t rows = int_arg(info[1], "rows", 0, INT32_MAX);
    int64_t items = int_arg(info[2], "items", 1, INT32_MAX);
    std::vector<float> s = vector_from_typed<float>(info[0], "scores");
    if (static_cast<int64_t>(s.size()) != rows * items) fail(ErrorCode::Input, "scores must hold rows x items values");
    return ModelHandle::wrap(env, std::make_shared<cfkit::FixedScores>(std::move(s), rows, items));
  });
}

// score(handle, inputs: Csr, jobOptions) -> Promise<Float32Array> (rows x items)
Napi::Value score(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    auto model = ModelHandle::model_of(info[0]);
    auto x = std::make_shared<cfkit::Csr>(csr_from_js(info[1], "inputs"));
    if (x->cols != model->num_items()) fail(ErrorCode::Input, "inputs must use the model's item space");
    if (x->rows * model->num_items() > (int64_t(1) << 31)) fail(ErrorCode::Input, "too many rows to score densely at once; use recommend()");
    auto users = row_users(info[3], *model, x->rows);
    auto out = std::make_shared<std::vector<float>>();
    return start_job(
        env, "cfkit.score", job_options(info[2]),
        [model, x, users, out](cfkit::TrainContext& ctx) {
          const int64_t n = model->num_items();
          out->assign(x->rows * n, 0.f);
          cfkit::parallel_ranges(x->rows, ctx.threads(), [&](int64_t b, int64_t e, int) {
            if (b < e) model->score(*x, users ? users->data() : nullptr, b, e, out->data() + b * n);
          });
        },
        [out](Napi::Env e) -> Napi::Value { return to_js(e, *out); });
  });
}

namespace {
constexpr double kUnknownCost = std::numeric_limits<double>::infinity();

// The model's estimate for inputs in its item space; anything else is left to the job to reject.
double serving_estimate(const cfkit::Model& m, const cfkit::Csr& x) { return x.cols == m.num_items() ? m.estimated_ns(x) : kUnknownCost; }

double similar_estimate(const cfkit::Model& m, const std::vector<int32_t>& items) {
  for (int32_t i : items)
    if (i < 0 || i >= m.num_items()) return kUnknownCost;
  return m.estimated_ns(cfkit::one_hot_rows(m.num_items(), items));
}
}  // namespace

// recommend(handle, inputs: Csr, {k, maskInput, exclude?: Csr}, jobOptions) -> Promise<TopK>
Napi::Value recommend(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    auto model = ModelHandle::model_of(info[0]);
    auto x = std::make_shared<cfkit::Csr>(csr_from_js(info[1], "inputs"));
    Napi::Object o = info[2].As<Napi::Object>();
    int k = static_cast<int>(int_arg(o.Get("k"), "k", 1, 1 << 20));
    bool mask = bool_field(o, "maskInput", true);
    const FilterArgs filters = filters_from_js(o, x->rows, model->num_items());
    auto users = row_users(o.Get("users"), *model, x->rows);
    auto out = std::make_shared<cfkit::TopK>();
    JobOptions job = job_options(info[3]);
    const double estimate = job.allow_inline ? serving_estimate(*model, *x) : kUnknownCost;  // only a candidate needs one
    return start_job(
        env, "cfkit.recommend", std::move(job),
        [model, x, k, mask, filters, users, out](cfkit::TrainContext& ctx) {
          *out = cfkit::recommend(*model, *x, k, mask, filters.view(), ctx, users ? users->data() : nullptr, filters.fallback());
        },
        [out](Napi::Env e) -> Napi::Value { return topk_to_js(e, *out); }, estimate);
  });
}

// similarItems(handle, items: Int32Array, {k, exclude?}, jobOptions) -> Promise<TopK>
Napi::Value similar_items(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    auto model = ModelHandle::model_of(info[0]);
    auto items = std::make_shared<std::vector<int32_t>>(vector_from_typed<int32_t>(info[1], "items"));
    Napi::Object o = info[2].As<Napi::Object>();
    int k = static_cast<int>(int_arg(o.Get("k"), "k", 1, 1 << 20));
    const FilterArgs filters = filters_from_js(o, static_cast<int64_t>(items->size()), model->num_items());
    auto out = std::make_shared<cfkit::TopK>();
    JobOptions job = job_options(info[3]);
    const double estimate = job.allow_inline ? similar_estimate(*model, *items) : kUnknownCost;
    return start_job(
        env, "cfkit.similarItems", std::move(job),
        [model, items, k, filters, out](cfkit::TrainContext& ctx) {
          *out = cfkit::similar_items(*model, *items, k, filters.view(), ctx, filters.fallback());
        },
        [out](Napi::Env e) -> Napi::Value { return topk_to_js(e, *out); }, estimate);
  });
}

// evaluate(handle, inputs, targets, {kinds: Int32Array, ks: Int32Array, propensity?: Float32Array},
//          jobOptions) -> Promise<{perUser: Float64Array, valid: Uint8Array, coverage: Float64Array}>
Napi::Value evaluate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    auto model = ModelHandle::model_of(info[0]);
    auto inputs = std::make_shared<cfkit::Csr>(csr_from_js(info[1], "inputs"));
    auto targets = std::make_shared<cfkit::Csr>(csr_from_js(info[2], "targets"));
    Napi::Object o = info[3].As<Napi::Object>();
    std::vector<int32_t> kinds = vector_from_typed<int32_t>(o.Get("kinds"), "kinds");
    std::vector<int32_t> ks = vector_from_typed<int32_t>(o.Get("ks"), "ks");
    if (kinds.size() != ks.size()) fail(ErrorCode::Input, "kinds and ks must have the same length");
    auto specs = std::make_shared<std::vector<cfkit::MetricSpec>>();
    for (size_t i = 0; i < kinds.size(); ++i) {
      if (kinds[i] < 0 || kinds[i] > static_cast<int>(cfkit::MetricKind::Coverage)) fail(ErrorCode::Input, "unknown metric kind");
      specs->push_back({static_cast<cfkit::MetricKind>(kinds[i]), ks[i]});
    }
    std::shared_ptr<std::vector<float>> prop;
    if (o.Get("propensity").IsTypedArray())
      prop = std::make_shared<std::vector<float>>(vector_from_typed<float>(o.Get("propensity"), "propensity"));
    auto users = row_users(o.Get("users"), *model, inputs->rows);
    auto out = std::make_shared<cfkit::EvalResult>();
    return start_job(
        env, "cfkit.evaluate", job_options(info[4]),
        [model, inputs, targets, specs, prop, users, out](cfkit::TrainContext& ctx) {
          *out = cfkit::evaluate(*model, *inputs, *targets, *specs, prop.get(), ctx, users ? users->data() : nullptr);
        },
        [out](Napi::Env e) -> Napi::Value {
          Napi::Object r = Napi::Object::New(e);
          r.Set("perUser", to_js(e, out->per_user));
          r.Set("valid", to_js(e, out->valid));
          r.Set("coverage", to_js(e, out->coverage));
          return r;
        });
  });
}

Napi::Value backend_info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    cfkit::CpuBackendInfo cpu = cfkit::cpu_backend_info();
    Napi::Object o = Napi::Object::New(env);
    o.Set("blas", cpu.blas);
    o.Set("blasThreads", cpu.blas_threads);
    o.Set("suitesparse", cpu.suitesparse);
    o.Set("cholmod", cpu.cholmod);
    o.Set("colamd", cpu.colamd);
    o.Set("hardwareThreads", cpu.hardware_threads);
    o.Set("simd", cpu.simd);
    o.Set("napiVersion", NAPI_VERSION);
    return o;
  });
}

Napi::Value cuda_info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value { return cuda_status_to_js(env, cfkit::device::cuda_status()); });
}

}  // namespace

void register_bindings(Napi::Env env, Napi::Object exports) {
  exports.Set("easeFit", Napi::Function::New(env, ease_fit, "easeFit"));
  exports.Set("easeFromWeights", Napi::Function::New(env, ease_from_weights, "easeFromWeights"));
  exports.Set("sansaFit", Napi::Function::New(env, sansa_fit, "sansaFit"));
  exports.Set("sansaFromWeights", Napi::Function::New(env, sansa_from_weights, "sansaFromWeights"));
  exports.Set("infaeFit", Napi::Function::New(env, infae_fit, "infaeFit"));
  exports.Set("infaeKernel", Napi::Function::New(env, infae_kernel, "infaeKernel"));
  exports.Set("distill", Napi::Function::New(env, distill, "distill"));
  exports.Set("infaeFromWeights", Napi::Function::New(env, infae_from_weights, "infaeFromWeights"));
  exports.Set("mfFit", Napi::Function::New(env, mf_fit, "mfFit"));
  exports.Set("ialsFit", Napi::Function::New(env, ials_fit, "ialsFit"));
  exports.Set("detachBuffers", Napi::Function::New(env, detach_buffers, "detachBuffers"));
  exports.Set("ialsFromFactors", Napi::Function::New(env, ials_from_factors, "ialsFromFactors"));
  exports.Set("mfFromWeights", Napi::Function::New(env, mf_from_weights, "mfFromWeights"));
  exports.Set("mfPredict", Napi::Function::New(env, mf_predict, "mfPredict"));
  exports.Set("fixedScores", Napi::Function::New(env, fixed_scores, "fixedScores"));
  exports.Set("score", Napi::Function::New(env, score, "score"));
  exports.Set("recommend", Napi::Function::New(env, recommend, "recommend"));
  exports.Set("itemFilter", Napi::Function::New(env, item_filter, "itemFilter"));
  exports.Set("similarItems", Napi::Function::New(env, similar_items, "similarItems"));
  exports.Set("evaluate", Napi::Function::New(env, evaluate, "evaluate"));
  exports.Set("backendInfo", Napi::Function::New(env, backend_info, "backendInfo"));
  exports.Set("cudaInfo", Napi::Function::New(env, cuda_info, "cudaInfo"));
}

}  // namespace cfkit_addon
