#!/usr/bin/env bash
# Runs an arm64 program under qemu-aarch64 with the arm64 sysroot as its root for libraries:
#   scripts/arm64/run.sh build-arm64/sysroot/usr/bin/node script.js
#   scripts/arm64/run.sh build-arm64/cmake/cfkit_tests mf_
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
command -v qemu-aarch64 >/dev/null || { echo "needs qemu-aarch64: apt-get install qemu-user" >&2; exit 1; }
export QEMU_LD_PREFIX="${CFKIT_ARM64_SYSROOT:-$root/build-arm64/sysroot}"
exec qemu-aarch64 "$@"
