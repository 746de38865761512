// Per-environment state (worker threads each get their own), never process globals.
#pragma once
#include <napi.h>

namespace cfkit_addon {

struct AddonData {
  Napi::FunctionReference abort_flag_ctor;
  Napi::FunctionReference model_handle_ctor;
};

}  // namespace cfkit_addon
