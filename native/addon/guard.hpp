// Synchronous bindings run their body through guard() so a core exception becomes a coded JS error
// instead of terminating the process.
#pragma once
#include <napi.h>

#include <new>

#include "common/error.hpp"
#include "job.hpp"

namespace cfkit_addon {

template <class Fn>
Napi::Value guard(Napi::Env env, Fn&& fn) {
  try {
    return fn();
  } catch (const Napi::Error&) {
    throw;
  } catch (const cfkit::Error& e) {
    throw coded_error(env, cfkit::error_code_name(e.code()), e.what());
  } catch (const std::bad_alloc&) {
    throw coded_error(env, "E_NUMERIC", "out of memory");
  } catch (const std::exception& e) {
    throw coded_error(env, "E_INTERNAL", e.what());
  }
}

}  // namespace cfkit_addon
