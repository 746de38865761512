#!/usr/bin/env bash
# npm run prebuild:arm64 — cross-compiles the CPU addon for linux-arm64 (glibc) on an x86-64 Debian
# machine and writes prebuilds/linux-arm64/cfkit.glibc.node. Also leaves the arm64 C++ tests in
# build-arm64/cmake/cfkit_tests for scripts/arm64/run.sh. Needs crossbuild-essential-arm64 and cmake;
# the sysroot comes from scripts/arm64/sysroot.sh.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
command -v aarch64-linux-gnu-g++ >/dev/null || { echo "prebuild:arm64 needs aarch64-linux-gnu-g++: apt-get install crossbuild-essential-arm64" >&2; exit 1; }
export CFKIT_ARM64_SYSROOT="$(bash scripts/arm64/sysroot.sh)"
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
node node_modules/cmake-js/bin/cmake-js build --out build-arm64/cmake "${generator[@]}" \
  --CDCMAKE_TOOLCHAIN_FILE="$root/scripts/arm64/toolchain.cmake" \
  --CDCFKIT_WITH_CUDA=OFF --CDCFKIT_GPU_CHECK=OFF --CDCFKIT_TESTS=ON
mkdir -p prebuilds/linux-arm64
aarch64-linux-gnu-strip --strip-unneeded -o prebuilds/linux-arm64/cfkit.glibc.node build-arm64/cmake/Release/cfkit.node
ls -l prebuilds/linux-arm64/
