// Module entry: per-environment data, the two classes, and the functions from bindings.cpp.
#include <napi.h>

#include "abort_flag.hpp"
#include "addon_data.hpp"
#include "bindings.hpp"
#include "model_handle.hpp"

namespace cfkit_addon {

Napi::Object init(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();
  Napi::Function abort_ctor = AbortFlag::define(env);
  Napi::Function model_ctor = ModelHandle::define(env);
  data->abort_flag_ctor = Napi::Persistent(abort_ctor);
  data->model_handle_ctor = Napi::Persistent(model_ctor);
  env.SetInstanceData<AddonData>(data);
  exports.Set("AbortFlag", abort_ctor);
  exports.Set("ModelHandle", model_ctor);
  register_bindings(env, exports);
  return exports;
}

}  // namespace cfkit_addon

static Napi::Object init_module(Napi::Env env, Napi::Object exports) { return cfkit_addon::init(env, exports); }

NODE_API_MODULE(cfkit, init_module)
