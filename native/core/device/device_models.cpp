#include "device_models.hpp"

#include <cstddef>
#include <exception>
#include <memory>
#include <string>

#include "common/error.hpp"
#include "cuda_backend.hpp"

namespace cfkit {
namespace device {

// The GPU solve for fit_infae, through libcfkit_cuda.so; throws E_DEVICE when it is not usable.
cfkit::InfAeDeviceSolve infae_device_solve() {
  CudaInfaeSolve solve = cuda_infae_solve();
  if (!solve) fail(ErrorCode::Device, "∞-AE on CUDA was requested but the GPU backend is not usable: " + cuda_status().reason);
  return [solve](const cfkit::Csr& xs, double lambda, cfkit::InfAeStepSeconds& sec) {
    cfkit::Buffer<float> alpha_t(size_t(xs.rows) * size_t(xs.cols));
    cfkit_cuda_infae_input in{xs.rows, xs.cols, xs.indptr.data(), xs.indices.data(), xs.values.data(), lambda};
    cfkit_cuda_infae_output out{};
    out.alpha_t = alpha_t.data();
    char error[512] = {0};
    const int rc = solve(&in, &out, error, sizeof error);
    if (rc == 1)
      fail(ErrorCode::Numeric, "∞-AE: the regularised kernel is not positive definite on the GPU (column " +
                                   std::to_string(out.not_positive_definite_at) + ", λ = " + std::to_string(lambda) +
                                   "); use a larger λ or device: 'cpu' with float64");
    if (rc != 0) fail(ErrorCode::Device, std::string("∞-AE on the GPU failed: ") + error);
    sec.gram += out.seconds_gram;
    sec.kernel += out.seconds_kernel;
    sec.solve += out.seconds_solve;
    return alpha_t;
  };
}

cfkit::InfAeDeviceScore infae_device_score(const cfkit::InfAeModel& model) {
  const CudaInfaeScorerApi api = cuda_infae_scorer();
  if (!api.create) fail(ErrorCode::Device, "∞-AE scoring on CUDA was requested but the GPU backend is not usable: " + cuda_status().reason);
  const cfkit::Csr& xs = model.support();
  cfkit_cuda_infae_input in{xs.rows, xs.cols, xs.indptr.data(), xs.indices.data(), xs.values.data(), 0.0};
  cfkit_cuda_infae_scorer* raw = nullptr;
  char error[512] = {0};
  if (api.create(&in, model.alpha_t().data(), &raw, error, sizeof error) != 0)
    fail(ErrorCode::Device, std::string("∞-AE: uploading the model for GPU scoring failed: ") + error);
  std::shared_ptr<cfkit_cuda_infae_scorer> scorer(raw, api.destroy);
  auto score = api.score;
  return [scorer, score](const cfkit::Csr& inputs, int64_t begin, int64_t end, float* out) {
    const int64_t first = inputs.indptr[begin];
    char err[512] = {0};
    if (score(scorer.get(), end - begin, inputs.indptr.data() + begin, inputs.indices.data() + first, inputs.values.data() + first, out, err,
              sizeof err) != 0)
      fail(ErrorCode::Device, std::string("∞-AE scoring on the GPU failed: ") + err);
  };
}

cfkit::DistillDeviceFactory distill_device() {
  const CudaDistillApi api = cuda_distill();
  if (!api.create) fail(ErrorCode::Device, "DISTILL-CF on CUDA was requested but the GPU backend is not usable: " + cuda_status().reason);
  return [api](const cfkit::Csr& real, int64_t budget) {
    cfkit_cuda_distill_input in{real.rows, real.cols, budget, real.indptr.data(), real.indices.data(), real.values.data()};
    cfkit_cuda_distill* raw = nullptr;
    char error[512] = {0};
    if (api.create(&in, &raw, error, sizeof error) != 0) fail(ErrorCode::Device, std::string("DISTILL-CF on the GPU: ") + error);
    std::shared_ptr<cfkit_cuda_distill> d(raw, api.destroy);
    const int64_t size = budget * real.cols;
    cfkit::DistillDevice dev;
    dev.loss = [api, d, size](const std::vector<double>& logits, int samples, double tau, double lambda, double card_reg,
                              uint64_t seed, std::vector<double>* grad) {
      const cfkit_cuda_distill_step step{samples, tau, lambda, card_reg, seed};
      if (grad) grad->resize(size);  // every entry is written by the device
      double loss = 0;
      int64_t broken = 0;
      char err[512] = {0};
      const int rc = api.loss(d.get(), &step, logits.data(), &loss, grad ? grad->data() : nullptr, &broken, err, sizeof err);
      if (rc == 1) fail(ErrorCode::Numeric, "distill: the synthetic kernel is not positive definite");
      if (rc != 0) fail(ErrorCode::Device, std::string("DISTILL-CF on the GPU failed: ") + err);
      return loss;
    };
    dev.gumbel_sum = [api, d, size](const std::vector<double>& logits, int samples, double tau, uint64_t seed) {
      const cfkit_cuda_distill_step step{samples, tau, 0.0, 0.0, seed};
      std::vector<double> sigma(size);
      char err[512] = {0};
      if (api.gumbel_sum(d.get(), &step, logits.data(), sigma.data(), err, sizeof err) != 0)
        fail(ErrorCode::Device, std::string("DISTILL-CF on the GPU failed: ") + err);
      return sigma;
    };
    return dev;
  };
}

static_assert(sizeof(cfkit::mf::Rating) == sizeof(cfkit_cuda_rating) &&
                  offsetof(cfkit::mf::Rating, i) == offsetof(cfkit_cuda_rating, i) &&
                  offsetof(cfkit::mf::Rating, r) == offsetof(cfkit_cuda_rating, r),
              "the core's Rating must match the GPU ABI's");

// The GPU trainer for train_mf_on_device. Exceptions from the per-epoch callback (abort, progress)
// stop the GPU loop and are rethrown here, on the worker thread.
cfkit::MfDeviceTrain mf_device_train() {
  CudaMfTrain train = cuda_mf_train();
  if (!train) fail(ErrorCode::Device, "MF on CUDA was requested but the GPU backend is not usable: " + cuda_status().reason);
  return [train](cfkit::MfDeviceJob& job, const cfkit::MfOptions& o, bool copy_each_epoch,
                 const std::function<void(cfkit::MfEpoch&)>& after_epoch) {
    const bool mascot = o.precision == cfkit::MfPrecision::Mascot;
    cfkit_cuda_mf_problem pr{};
    pr.users = job.users;
    pr.items = job.items;
    pr.nnz = static_cast<int64_t>(job.ratings.size());
    pr.ratings = reinterpret_cast<const cfkit_cuda_rating*>(job.ratings.data());
    pr.user_group = mascot ? job.user_group.data() : nullptr;
    pr.item_group = mascot ? job.item_group.data() : nullptr;
    pr.user_groups = job.user_groups;
    pr.item_groups = job.item_groups;
    pr.k = job.k;
    pr.p = job.p.data();
    pr.q = job.q.data();
    pr.user_len = job.pruned ? job.user_len.data() : nullptr;
    pr.item_len = job.pruned ? job.item_len.data() : nullptr;
    cfkit_cuda_mf_params pa{};
    pa.epochs = o.epochs;
    pa.lr_alpha = o.lr_alpha;
    pa.lr_beta = o.lr_beta;
    pa.l2_user = o.l2_user;
    pa.l2_item = o.l2_item;
    pa.precision = o.precision == cfkit::MfPrecision::Fp32 ? 0 : o.precision == cfkit::MfPrecision::Fp16 ? 1 : 2;
    pa.mascot_interval = o.mascot_interval;
    pa.mascot_sample_ratio = o.mascot_sample_ratio;
    pa.mascot_threshold = o.mascot_threshold;
    pa.seed = o.seed;
    pa.copy_each_epoch = copy_each_epoch ? 1 : 0;
    pa.pruned = job.pruned ? 1 : 0;
    struct State {
      const std::function<void(cfkit::MfEpoch&)>* after;
      cfkit::MfDeviceJob* job;
      std::exception_ptr error;
    } state{&after_epoch, &job, nullptr};
    auto on_epoch = [](const cfkit_cuda_mf_epoch* e, void* user) -> int {
      auto* s = static_cast<State*>(user);
      try {
        cfkit::MfEpoch ep;
        ep.epoch = e->epoch;
        ep.train_rmse = e->train_rmse;
        ep.seconds = e->seconds;
        ep.lr = e->lr;
        ep.groups_switched = e->groups_switched;
        (*s->after)(ep);
        if (!s->job->upload) return CFKIT_CUDA_MF_CONTINUE;
        s->job->upload = false;
        return CFKIT_CUDA_MF_UPLOAD;
      } catch (...) {
        s->error = std::current_exception();
        return 1;
      }
    };
    char error[512] = {0};
    const int rc = train(&pr, &pa, on_epoch, &state, error, sizeof error);
    if (state.error) std::rethrow_exception(state.error);
    if (rc != 0) fail(ErrorCode::Device, std::string("MF on the GPU failed: ") + error);
  };
}

}  // namespace device
}  // namespace cfkit
