#pragma once
#include <napi.h>

namespace cfkit_addon {
void register_bindings(Napi::Env env, Napi::Object exports);
}
