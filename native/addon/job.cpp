#include "job.hpp"

#include <new>
#include <string>

#include "abort_flag.hpp"
#include "common/error.hpp"

namespace cfkit_addon {

namespace {

struct ProgressEvent {
  cfkit::Progress p;
};

void deliver_progress(Napi::Env env, Napi::Function cb, void*, ProgressEvent* ev) {
  std::unique_ptr<ProgressEvent> owned(ev);
  if (env == nullptr || cb.IsEmpty()) return;
  Napi::Object o = Napi::Object::New(env);
  o.Set("stage", ev->p.stage);
  o.Set("fraction", ev->p.fraction);
  if (ev->p.has_loss) o.Set("loss", ev->p.loss);
  cb.Call({o});
}

using ProgressTsfn = Napi::TypedThreadSafeFunction<void, ProgressEvent, deliver_progress>;

class Job : public Napi::AsyncWorker {
 public:
  Job(Napi::Env env, const char* name, JobOptions opts, JobWork work, JobResult result)
      : Napi::AsyncWorker(env, name), deferred_(Napi::Promise::Deferred::New(env)), work_(std::move(work)),
        result_(std::move(result)) {
    cfkit::TrainContext::Callback cb;
    if (!opts.on_progress.IsEmpty()) {
      tsfn_ = ProgressTsfn::New(env, opts.on_progress, "cfkit-progress", 0, 1);
      has_tsfn_ = true;
      cb = [this](const cfkit::Progress& p) { tsfn_.NonBlockingCall(new ProgressEvent{p}); };
    }
    ctx_ = cfkit::TrainContext(opts.threads, opts.abort, std::move(cb));
  }

  Napi::Promise promise() { return deferred_.Promise(); }

  void Execute() override {
    try {
      work_(ctx_);
    } catch (const cfkit::Error& e) {
      code_ = cfkit::error_code_name(e.code());
      SetError(e.what());
    } catch (const std::bad_alloc&) {
      code_ = "E_NUMERIC";
      SetError("out of memory: the requested model does not fit in RAM");
    } catch (const std::exception& e) {
      code_ = "E_INTERNAL";
      SetError(e.what());
    }
  }

  void OnOK() override {
    release();
    Napi::Env env = Env();
    try {
      deferred_.Resolve(result_(env));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    } catch (const cfkit::Error& e) {
      deferred_.Reject(coded_error(env, cfkit::error_code_name(e.code()), e.what()).Value());
    }
  }

  void OnError(const Napi::Error& e) override {
    release();
    deferred_.Reject(coded_error(Env(), code_, e.Message()).Value());
  }

 private:
  void release() {
    if (has_tsfn_) {
      tsfn_.Release();
      has_tsfn_ = false;
    }
  }

  Napi::Promise::Deferred deferred_;
  JobWork work_;
  JobResult result_;
  cfkit::TrainContext ctx_;
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

Napi::Promise start_job(Napi::Env env, const char* name, JobOptions opts, JobWork work, JobResult result) {
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
  return o;
}

}  // namespace cfkit_addon
