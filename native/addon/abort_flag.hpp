// A JS-visible handle on a std::atomic<bool> that running native loops poll; TS wires AbortSignal's
// 'abort' event to abort().
#pragma once
#include <napi.h>

#include <atomic>
#include <memory>

namespace cfkit_addon {

class AbortFlag : public Napi::ObjectWrap<AbortFlag> {
 public:
  static Napi::Function define(Napi::Env env);
  explicit AbortFlag(const Napi::CallbackInfo& info);
  static std::shared_ptr<std::atomic<bool>> flag_of(const Napi::Value& v);

 private:
  Napi::Value abort(const Napi::CallbackInfo& info);
  Napi::Value aborted(const Napi::CallbackInfo& info);
  std::shared_ptr<std::atomic<bool>> flag_;
};

}  // namespace cfkit_addon
