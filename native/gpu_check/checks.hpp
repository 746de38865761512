// The GPU check program's checks, one file per model family. Each records a CPU half and a GPU half
// in the Run; the timed comparisons run only outside --quick.
#pragma once
#include "run.hpp"

namespace cfkit_gpu_check {

void check_probe(Run& run);
void check_infae(Run& run);
void time_infae(Run& run);
void check_distill(Run& run);
void time_distill(Run& run);
void check_mf(Run& run);
void time_mf(Run& run);

}  // namespace cfkit_gpu_check
