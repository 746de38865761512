#include "job.hpp"

#include <deque>
#include <mutex>
#include <new>
#include <string>

#include "abort_flag.hpp"
#include "common/error.hpp"
#include "model/recommend.hpp"

namespace cfkit_addon {

namespace {

// Progress events queue here; the thread-safe function only says "drain". OnOK/OnError drain what
// is left before settling the promise, so every event reaches JS before the await resumes.
struct ProgressQueue {
  std::mutex m;
  std::deque<cfkit::Progress> events;

  void push(const cfkit::Progress& p) {
    std::lock_guard<std::mutex> lock(m);
    events.push_back(p);
  }

  void drain(Napi::Env env, Napi::Function cb) {
    for (;;) {
      cfkit::Progress p;
      {
        std::lock_guard<std::mutex> lock(m);
        if (events.empty()) return;
        p = events.front();
        events.pop_front();
      }
      Napi::Object o = Napi::Object::New(env);
      o.Set("stage", p.stage);
      o.Set("fraction", p.fraction);
      if (p.has_loss) o.Set("loss", p.loss);
      for (const auto& kv : p.extra) o.Set(kv.first, kv.second);
      cb.Call({o});
    }
  }
};

struct QueueHolder {
  std::shared_ptr<ProgressQueue> queue;
};

void drain_on_js_thread(Napi::Env env, Napi::Function cb, QueueHolder* holder, void*) {
  if (env == nullptr || cb.IsEmpty() || !holder) return;
  holder->queue->drain(env, cb);
}

using ProgressTsfn = Napi::TypedThreadSafeFunction<QueueHolder, void, drain_on_js_thread>;

// Runs a job's work, turning what it throws into an error code and message. Returns false on error.
bool run_work(const JobWork& work, cfkit::TrainContext& ctx, std::string& code, std::string& message) {
  try {
    work(ctx);
    return true;
  } catch (const cfkit::Error& e) {
    code = cfkit::error_code_name(e.code());
    message = e.what();
  } catch (const std::bad_alloc&) {
    code = "E_NUMERIC";
    message = "out of memory: the requested model does not fit in RAM";
  } catch (const std::exception& e) {
    code = "E_INTERNAL";
    message = e.what();
  }
  return false;
}

void settle(Napi::Env env, const JobResult& result, Napi::Promise::Deferred& deferred) {
  try {
    deferred.Resolve(result(env));
  } catch (const Napi::Error& e) {
    deferred.Reject(e.Value());
  } catch (const cfkit::Error& e) {
    deferred.Reject(coded_error(env, cfkit::error_code_name(e.code()), e.what()).Value());
  }
}

class Job : public Napi::AsyncWorker {
 public:
  Job(Napi::Env env, const char* name, JobOptions opts, JobWork work, JobResult result)
      : Napi::AsyncWorker(env, name), deferred_(Napi::Promise::Deferred::New(env)), work_(std::move(work)),
        result_(std::move(result)) {
    cfkit::TrainContext::Callback cb;
    if (!opts.on_progress.IsEmpty()) {
      queue_ = std::make_shared<ProgressQueue>();
      callback_ = Napi::Persistent(opts.on_progress);
      tsfn_ = ProgressTsfn::New(env, opts.on_progress, "cfkit-progress", 0, 1, new QueueHolder{queue_},
                                [](Napi::Env, void*, QueueHolder* h) { delete h; });
      has_tsfn_ = true;
      cb = [this](const cfkit::Progress& p) {
        queue_->push(p);
        tsfn_.NonBlockingCall();
      };
    }
    ctx_ = cfkit::TrainContext(opts.threads, opts.abort, std::move(cb));
  }

  Napi::Promise promise() { return deferred_.Promise(); }

  void Execute() override {
    std::string message;
    if (!run_work(work_, ctx_, code_, message)) SetError(message);
  }

  void OnOK() override {
    finish_progress();
    settle(Env(), result_, deferred_);
  }

  void OnError(const Napi::Error& e) override {
    finish_progress();
    deferred_.Reject(coded_error(Env(), code_, e.Message()).Value());
  }

 private:
  void finish_progress() {
    if (!has_tsfn_) return;
    try {
      queue_->drain(Env(), callback_.Value());
    } catch (const Napi::Error&) {
      // The TS layer guards user callbacks; a throw here must not leave the promise unsettled.
    }
    tsfn_.Release();
    has_tsfn_ = false;
  }

  Napi::Promise::Deferred deferred_;
  JobWork work_;
  JobResult result_;
  cfkit::TrainContext ctx_;
  std::shared_ptr<ProgressQueue> queue_;
  Napi::FunctionReference callback_;
  ProgressTsfn tsfn_;
  bool has_tsfn_ = false;
  std::string code_ = "E_INTERNAL";
};

}  // namespace

Napi::Error coded_error(Napi::Env env, const std::string& code, const std::string& message) {
  Napi::Error err = Napi::Error::New(env, code + ": " + message);
  err.Set("code", Napi::String::New(env, code));
  return err;
}

Napi::Promise start_job(Napi::Env env, const char* name, JobOptions opts, JobWork work, JobResult result, double estimated_ns) {
  if (opts.allow_inline && opts.on_progress.IsEmpty() && estimated_ns <= cfkit::kInlineBudgetNs) {
    cfkit::TrainContext ctx(1, opts.abort, {});
    auto deferred = Napi::Promise::Deferred::New(env);
    std::string code, message;
    if (!run_work(work, ctx, code, message)) {
      deferred.Reject(coded_error(env, code, message).Value());
      return deferred.Promise();
    }
    settle(env, result, deferred);
    return deferred.Promise();
  }
  auto* job = new Job(env, name, std::move(opts), std::move(work), std::move(result));
  Napi::Promise p = job->promise();
  job->Queue();
  return p;
}

JobOptions job_options(const Napi::Value& v) {
  JobOptions o;
  if (!v.IsObject()) return o;
  Napi::Object obj = v.As<Napi::Object>();
  Napi::Value t = obj.Get("threads");
  if (t.IsNumber()) o.threads = std::max(1, t.As<Napi::Number>().Int32Value());
  Napi::Value a = obj.Get("abort");
  if (a.IsObject()) o.abort = AbortFlag::flag_of(a);
  Napi::Value p = obj.Get("onProgress");
  if (p.IsFunction()) o.on_progress = p.As<Napi::Function>();
  o.allow_inline = obj.Get("inline").ToBoolean().Value();
  return o;
}

}  // namespace cfkit_addon
