#!/usr/bin/env bash
# Packs build/gpu-bundle/ for a GPU machine that has CUDA and Python but no Node: cfkit-gpu-check,
# libcfkit_cuda.so, the shared libraries both need (copied from this system; glibc, the dynamic
# loader and the NVIDIA driver excepted) and run.sh. Libraries over 1 MiB are xz-compressed (run.sh
# expands them), which keeps the bundle under 40 MiB: OpenBLAS alone is 36 MB. Run after the build
# (npm run gpu:bundle does both). docs/gpu.md says how to use the bundle.
set -euo pipefail
cd "$(dirname "$0")/.."
limit=$((40 * 1024 * 1024))
out=build/gpu-bundle
program=build/cfkit-gpu-check
backend=build/Release/libcfkit_cuda.so
die() { echo "gpu-bundle: $*" >&2; exit 1; }

[ "$(uname -m)" = x86_64 ] || die "the bundle is for x86-64 GPU machines; this machine is $(uname -m)"
[ -x "$program" ] || die "$program is missing: build first (npm run build)"
[ -f "$backend" ] || die "$backend is missing: nvcc was not found when cfkit was built, so there is nothing to check"
command -v xz >/dev/null || die "xz is needed to compress the large libraries (apt-get install xz-utils)"

rm -rf "$out"
mkdir -p "$out/lib/gcc"
cp "$program" "$backend" "$out/"
cp scripts/gpu-bundle-run.sh "$out/run.sh"
chmod +x "$out/run.sh"

# What ldd resolves, less glibc, the loader and the driver. libstdc++ and libgcc_s go to lib/gcc,
# which run.sh uses only when the machine's own copies are missing or too old: a newer system copy
# also serves the cuBLAS that run.sh loads.
{
  echo "cfkit-gpu-check bundle, cfkit $(node -p "require('./package.json').version" 2>/dev/null || echo '?')," \
       "commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'), built $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(. /etc/os-release && echo "$PRETTY_NAME")"
  echo "libraries (bundled name <- system file):"
} > "$out/MANIFEST"
ldd "$program" "$backend" | awk '$2 == "=>" && $3 ~ /^\// { print $1, $3 }' | sort -u |
  while read -r name path; do
    case "$name" in
      libc.so.*|libm.so.*|libmvec.so.*|libpthread.so.*|libdl.so.*|librt.so.*|libresolv.so.*|libutil.so.*|libanl.so.*|\
      ld-linux*|libcuda.so.*|libnvidia-*) continue ;;
      libstdc++.so.*|libgcc_s.so.*) dest="$out/lib/gcc/$name" ;;
      *) dest="$out/lib/$name" ;;
    esac
    cp -L "$path" "$dest"
    echo "  ${dest#$out/} <- $(readlink -f "$path")" >> "$out/MANIFEST"
  done

find "$out/lib" -type f -size +1M -print0 | xargs -0 -r xz -T0 -6
size=$(du -sb "$out" | cut -f1)
echo "gpu-bundle: $out is $((size / 1024)) KiB ($(find "$out" -type f | wc -l) files)"
[ "$size" -le "$limit" ] || die "$out is $size bytes, over the 40 MiB limit"
