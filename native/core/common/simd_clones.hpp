// Loops the compiler vectorises well get one copy per x86-64 vector width, picked when the library
// loads. Elsewhere (AArch64, whose baseline NEON the compiler already targets) there is one copy.
#pragma once

#if defined(__x86_64__)
#define CFKIT_SIMD_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define CFKIT_SIMD_CLONES
#endif
