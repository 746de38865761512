# Cross-compiles for linux-arm64 with Debian's crossbuild-essential-arm64, against the sysroot that
# scripts/arm64/sysroot.sh unpacks (CFKIT_ARM64_SYSROOT). glibc comes from the cross toolchain
# (/usr/aarch64-linux-gnu), the same 2.36 as the sysroot's.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
if(NOT DEFINED ENV{CFKIT_ARM64_SYSROOT})
  message(FATAL_ERROR "set CFKIT_ARM64_SYSROOT (scripts/arm64/sysroot.sh prints it)")
endif()
set(CFKIT_ARM64_SYSROOT $ENV{CFKIT_ARM64_SYSROOT})
set(CMAKE_FIND_ROOT_PATH ${CFKIT_ARM64_SYSROOT} /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
# CHOLMOD's own dependencies (METIS, BLAS, LAPACK, gfortran) are found through these at link time.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-Wl,-rpath-link,${CFKIT_ARM64_SYSROOT}/usr/lib/aarch64-linux-gnu:${CFKIT_ARM64_SYSROOT}/usr/lib/aarch64-linux-gnu/openblas-pthread")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "${CMAKE_EXE_LINKER_FLAGS_INIT}")
