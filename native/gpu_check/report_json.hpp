// gpu-check.json: the machine, the CUDA status, every check and timing, and the counts. Written to a
// temporary file and renamed, so a reader never sees half a report.
#pragma once
#include <string>

#include "run.hpp"

namespace cfkit_gpu_check {

bool write_report(const std::string& path, const Run& run, double seconds, std::string& error);

}  // namespace cfkit_gpu_check
