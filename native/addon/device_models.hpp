// Adapters from the core's device hooks to libcfkit_cuda.so's C entry points. Each throws E_DEVICE
// up front when the GPU backend is not usable, so a fit never starts half on the GPU.
#pragma once
#include "infae/infae.hpp"
#include "mf/mf.hpp"

namespace cfkit_addon {

cfkit::InfAeDeviceSolve infae_device_solve();
cfkit::MfDeviceTrain mf_device_train();

}  // namespace cfkit_addon
