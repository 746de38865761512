// JS handle on a trained core model. dispose() drops this handle's reference at once; work already
// running keeps its own reference, so memory is freed when the last user finishes.
#pragma once
#include <napi.h>

#include <memory>

#include "model/model.hpp"

namespace cfkit_addon {

class ModelHandle : public Napi::ObjectWrap<ModelHandle> {
 public:
  static Napi::Function define(Napi::Env env);
  static Napi::Object wrap(Napi::Env env, std::shared_ptr<cfkit::Model> model);
  // Throws E_DISPOSED / E_INPUT when v is not a live handle.
  static std::shared_ptr<cfkit::Model> model_of(const Napi::Value& v);

  explicit ModelHandle(const Napi::CallbackInfo& info);
  // GC backstop for handles that were never disposed: frees the model and settles V8's accounting.
  void Finalize(Napi::Env env) override;

 private:
  Napi::Value type(const Napi::CallbackInfo& info);
  Napi::Value num_items(const Napi::CallbackInfo& info);
  Napi::Value memory_bytes(const Napi::CallbackInfo& info);
  Napi::Value disposed(const Napi::CallbackInfo& info);
  Napi::Value dispose(const Napi::CallbackInfo& info);
  Napi::Value export_array(const Napi::CallbackInfo& info);
  void release(Napi::Env env);

  std::shared_ptr<cfkit::Model> model_;
  int64_t reported_ = 0;
};

}  // namespace cfkit_addon
