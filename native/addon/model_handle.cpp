#include "model_handle.hpp"

#include "addon_data.hpp"
#include "common/error.hpp"
#include "convert.hpp"
#include "guard.hpp"
#include "ease/ease.hpp"
#include "sansa/sansa.hpp"
#include "infae/infae.hpp"
#include "mf/ials.hpp"
#include "mf/mf.hpp"

namespace cfkit_addon {

using cfkit::ErrorCode;
using cfkit::fail;

namespace {
// V8 wants external-memory adjustments in moderate steps.
void adjust_external(Napi::Env env, int64_t bytes) {
  const int64_t step = int64_t(512) << 20;
  while (bytes > step) {
    Napi::MemoryManagement::AdjustExternalMemory(env, step);
    bytes -= step;
  }
  while (bytes < -step) {
    Napi::MemoryManagement::AdjustExternalMemory(env, -step);
    bytes += step;
  }
  if (bytes) Napi::MemoryManagement::AdjustExternalMemory(env, bytes);
}
}  // namespace

Napi::Function ModelHandle::define(Napi::Env env) {
  return DefineClass(env, "ModelHandle",
                     {InstanceMethod("type", &ModelHandle::type), InstanceMethod("numItems", &ModelHandle::num_items),
                      InstanceMethod("memoryBytes", &ModelHandle::memory_bytes),
                      InstanceMethod("dispose", &ModelHandle::dispose),
                      InstanceMethod("exportArray", &ModelHandle::export_array),
                      InstanceAccessor("disposed", &ModelHandle::disposed, nullptr)});
}

Napi::Object ModelHandle::wrap(Napi::Env env, std::shared_ptr<cfkit::Model> model) {
  AddonData* data = env.GetInstanceData<AddonData>();
  auto* holder = new std::shared_ptr<cfkit::Model>(std::move(model));
  Napi::External<std::shared_ptr<cfkit::Model>> ext = Napi::External<std::shared_ptr<cfkit::Model>>::New(env, holder);
  Napi::Object obj = data->model_handle_ctor.New({ext});
  delete holder;
  return obj;
}

ModelHandle::ModelHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ModelHandle>(info) {
  if (info.Length() != 1 || !info[0].IsExternal()) {
    Napi::TypeError::New(info.Env(), "ModelHandle cannot be constructed from JS").ThrowAsJavaScriptException();
    return;
  }
  model_ = *info[0].As<Napi::External<std::shared_ptr<cfkit::Model>>>().Data();
  reported_ = model_ ? model_->memory_bytes() : 0;
  adjust_external(info.Env(), reported_);
}

void ModelHandle::Finalize(Napi::Env env) { release(env); }

std::shared_ptr<cfkit::Model> ModelHandle::model_of(const Napi::Value& v) {
  AddonData* data = v.Env().GetInstanceData<AddonData>();
  if (!v.IsObject() || !v.As<Napi::Object>().InstanceOf(data->model_handle_ctor.Value()))
    fail(ErrorCode::Input, "expected a model handle");
  ModelHandle* h = ModelHandle::Unwrap(v.As<Napi::Object>());
  if (!h->model_) fail(ErrorCode::Disposed, "the model was disposed");
  return h->model_;
}

void ModelHandle::release(Napi::Env env) {
  if (!model_) return;
  model_.reset();
  adjust_external(env, -reported_);
  reported_ = 0;
}

Napi::Value ModelHandle::type(const Napi::CallbackInfo& info) {
  return model_ ? Napi::String::New(info.Env(), model_->type()) : info.Env().Null();
}
Napi::Value ModelHandle::num_items(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), model_ ? double(model_->num_items()) : 0.0);
}
Napi::Value ModelHandle::memory_bytes(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), model_ ? double(model_->memory_bytes()) : 0.0);
}
Napi::Value ModelHandle::disposed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), !model_); }
Napi::Value ModelHandle::dispose(const Napi::CallbackInfo& info) {
  release(info.Env());
  return info.Env().Undefined();
}

Napi::Value ModelHandle::export_array(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
  if (!model_) fail(ErrorCode::Disposed, "the model was disposed");
  std::string name = info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
  if (auto* ease = dynamic_cast<cfkit::EaseModel*>(model_.get())) {
    if (name == "weights") return to_js(env, ease->weights());
  }
  if (auto* mf = dynamic_cast<cfkit::MfModel*>(model_.get())) {
    if (name == "p") return to_js(env, mf->p());
    if (name == "q") return to_js(env, mf->q());
  }
  if (auto* ials = dynamic_cast<cfkit::IalsModel*>(model_.get())) {
    if (name == "w") return to_js(env, ials->w());
    if (name == "h") return to_js(env, ials->h());
  }
  if (auto* inf = dynamic_cast<cfkit::InfAeModel*>(model_.get())) {
    const cfkit::Csr& m = inf->support();
    if (name == "alphaT") return to_js(env, inf->alpha_t());
    if (name == "support.indptr") {
      if (m.nnz() > INT32_MAX) fail(ErrorCode::Input, "matrix too large for Int32Array indptr");
      return to_js(env, std::vector<int32_t>(m.indptr.begin(), m.indptr.end()));
    }
    if (name == "support.indices") return to_js(env, m.indices);
    if (name == "support.values") return to_js(env, m.values);
  }
  if (auto* sansa = dynamic_cast<cfkit::SansaModel*>(model_.get())) {
    const size_t dot = name.find('.');
    const std::string part = name.substr(0, dot), field = dot == std::string::npos ? "" : name.substr(dot + 1);
    if (part == "encoder" || part == "decoder") {
      const cfkit::Csr& m = part == "encoder" ? sansa->encoder() : sansa->decoder();
      if (field == "indptr") {
        if (m.nnz() > INT32_MAX) fail(ErrorCode::Input, "matrix too large for Int32Array indptr");
        return to_js(env, std::vector<int32_t>(m.indptr.begin(), m.indptr.end()));
      }
      if (field == "indices") return to_js(env, m.indices);
      if (field == "values") return to_js(env, m.values);
    }
  }
  fail(ErrorCode::Input, "model of type " + model_->type() + " has no array named '" + name + "'");
  });
}

}  // namespace cfkit_addon
