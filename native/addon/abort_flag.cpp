#include "abort_flag.hpp"

#include "addon_data.hpp"

namespace cfkit_addon {

Napi::Function AbortFlag::define(Napi::Env env) {
  return DefineClass(env, "AbortFlag",
                     {InstanceMethod("abort", &AbortFlag::abort), InstanceAccessor("aborted", &AbortFlag::aborted, nullptr)});
}

AbortFlag::AbortFlag(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<AbortFlag>(info), flag_(std::make_shared<std::atomic<bool>>(false)) {}

Napi::Value AbortFlag::abort(const Napi::CallbackInfo& info) {
  flag_->store(true);
  return info.Env().Undefined();
}

Napi::Value AbortFlag::aborted(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), flag_->load()); }

std::shared_ptr<std::atomic<bool>> AbortFlag::flag_of(const Napi::Value& v) {
  if (!v.IsObject()) return nullptr;
  Napi::Object o = v.As<Napi::Object>();
  AddonData* data = v.Env().GetInstanceData<AddonData>();
  if (!data || !o.InstanceOf(data->abort_flag_ctor.Value())) return nullptr;
  return AbortFlag::Unwrap(o)->flag_;
}

}  // namespace cfkit_addon
