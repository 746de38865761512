// One AsyncWorker for every heavy call: runs a core function off the JS thread with a TrainContext
// (threads, abort flag, throttled progress through a thread-safe function) and settles a Promise.
#pragma once
#include <napi.h>

#include <atomic>
#include <functional>
#include <limits>
#include <memory>

#include "common/context.hpp"

namespace cfkit_addon {

struct JobOptions {
  int threads = 1;
  std::shared_ptr<std::atomic<bool>> abort;  // may be null
  Napi::Function on_progress;                // may be empty
  bool allow_inline = false;                 // the caller accepts running on its thread when the work is small
};

using JobWork = std::function<void(cfkit::TrainContext&)>;
using JobResult = std::function<Napi::Value(Napi::Env)>;

// Runs `work` on a worker thread, or on the calling thread when the caller allows it and the work is
// estimated under cfkit::kInlineBudgetNs; either way the result comes back as a Promise.
Napi::Promise start_job(Napi::Env env, const char* name, JobOptions opts, JobWork work, JobResult result,
                        double estimated_ns = std::numeric_limits<double>::infinity());

// Reads {threads, abort, onProgress, inline} from a JS options object (every field optional).
JobOptions job_options(const Napi::Value& v);

// Creates a JS Error whose message is prefixed by its stable code, e.g. "E_INPUT: ...", and whose
// `code` property carries that code.
Napi::Error coded_error(Napi::Env env, const std::string& code, const std::string& message);

}  // namespace cfkit_addon
