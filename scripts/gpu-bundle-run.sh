#!/usr/bin/env bash
# run.sh of the GPU check bundle (scripts/gpu-bundle.sh copies it in): expands the compressed
# libraries, finds cuBLAS, picks OpenBLAS's kernels for this CPU, runs cfkit-gpu-check and
# writes gpu-check.json and gpu-check.log into $OUT when it is set, else beside this script.
#
#   run.sh [--quick] [--only probe,infae,distill,mf] [--threads N]
#
# cuBLAS: $CFKIT_CUBLAS_PATH (a file or folder), else the PyTorch wheel's nvidia/cublas/lib (or
# nvidia/cu13/lib) found through python3, else the CUDA toolkit's lib64.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
lib=$here/lib

# The large libraries are expanded into a temporary folder, removed on exit, so the bundle itself
# stays as packed (small enough to travel again).
expanded=$(mktemp -d "${TMPDIR:-/tmp}/cfkit-gpu-bundle.XXXXXX") || exit 1
trap 'rm -rf "$expanded"' EXIT
mkdir -p "$expanded/gcc"
for z in "$lib"/*.xz "$lib"/gcc/*.xz; do
  [ -e "$z" ] || continue
  target=$expanded/${z#"$lib"/}
  target=${target%.xz}
  if command -v xz >/dev/null; then
    xz -dc "$z" > "$target"
  else
    python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$z" "$target"
  fi || { echo "run.sh: could not expand $z (needs xz or python3)" >&2; exit 1; }
done

# The machine's own libstdc++ when it has one new enough (it then serves cuBLAS too), else ours.
path="$expanded:$lib:$here"
if LD_LIBRARY_PATH="$path" ldd "$here/cfkit-gpu-check" "$here/libcfkit_cuda.so" 2>&1 | grep -q 'not found'; then
  path="$path:$expanded/gcc:$lib/gcc"
fi

# Sets cublas to the file or folder found, and where to the places looked at.
cublas="" where=()
find_cublas() {
  if [ -n "${CFKIT_CUBLAS_PATH:-}" ]; then
    cublas=$CFKIT_CUBLAS_PATH
    return
  fi
  where+=("python3's nvidia packages (PyTorch wheel)")
  if command -v python3 >/dev/null; then
    local d
    d=$(python3 - 2>/dev/null <<'PY'
import os
try:
    import nvidia
except Exception:
    raise SystemExit
for base in nvidia.__path__:
    for sub in ("cublas/lib", "cu13/lib", "cu12/lib"):
        if any(os.path.exists(os.path.join(base, sub, so)) for so in ("libcublas.so.13", "libcublas.so.12")):
            print(os.path.join(base, sub))
            raise SystemExit
PY
)
    if [ -n "$d" ]; then cublas=$d; return; fi
  fi
  for d in ${CUDA_HOME:+"$CUDA_HOME/lib64"} /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib; do
    where+=("$d")
    if ls "$d"/libcublas.so.1[23] >/dev/null 2>&1; then cublas=$d; return; fi
  done
}
find_cublas
if [ -n "$cublas" ]; then
  export CFKIT_CUBLAS_PATH=$cublas
  [ -d "$cublas" ] && path="$path:$cublas" || path="$path:$(dirname "$cublas")"  # for libcublasLt beside it
  echo "run.sh: cuBLAS from $cublas"
else
  echo "run.sh: cuBLAS not found (looked in: $(printf '%s; ' "${where[@]}" | sed 's/; $//')); the GPU checks will say so"
fi

# Debian's OpenBLAS (the bundled one) predates recent CPUs and falls back to slow generic kernels
# on them; name the family the CPU's flags support, as cfkit's loader does (lib/native.ts).
if [ -z "${OPENBLAS_CORETYPE:-}" ] && [ -r /proc/cpuinfo ]; then
  flags=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2) "
  avx512=1
  for f in avx512f avx512cd avx512bw avx512dq avx512vl; do [[ $flags == *" $f "* ]] || avx512=0; done
  if [ $avx512 = 1 ]; then export OPENBLAS_CORETYPE=SkylakeX
  elif [[ $flags == *" avx2 "* && $flags == *" fma "* ]]; then export OPENBLAS_CORETYPE=Haswell
  fi
fi
export OPENBLAS_THREAD_TIMEOUT=${OPENBLAS_THREAD_TIMEOUT:-4}

dest=${OUT:-$here}
mkdir -p "$dest"
LD_LIBRARY_PATH="$path${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$here/cfkit-gpu-check" --out "$dest/gpu-check.json" "$@" 2>&1 |
  tee "$dest/gpu-check.log"
exit "${PIPESTATUS[0]}"
