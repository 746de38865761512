// Adapters from the core's device hooks to libcfkit_cuda.so's C entry points, used by the addon and
// the GPU check program alike. Each throws E_DEVICE up front when the GPU backend is not usable, so a
// fit never starts half on the GPU.
#pragma once
#include "infae/distill.hpp"
#include "infae/infae.hpp"
#include "mf/mf.hpp"

namespace cfkit {
namespace device {

InfAeDeviceSolve infae_device_solve();
// Uploads a fitted ∞-AE model's support rows and α and returns its GPU scorer; the device memory is
// freed with the last copy of the returned function (the model's dispose()).
InfAeDeviceScore infae_device_score(const InfAeModel& model);
MfDeviceTrain mf_device_train();
// DISTILL-CF's loss/gradient and Gumbel sums on the GPU; the real users stay on the device until the
// returned functions are gone.
DistillDeviceFactory distill_device();

}  // namespace device
}  // namespace cfkit
