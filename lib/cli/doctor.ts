/** `cfkit doctor`: what cfkit found on this machine, and what to do when something is missing. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { backendInfo, BackendInfo } from '../backend';
import { NativeLoadError } from '../errors';
import { packageRoot } from '../native';
import { detectDistro, readInstallFailure } from '../system-packages';
import { version } from '../version';

/** The CUDA runtime's version as "major.minor" (13000 -> 13.0). */
const cudaVersion = (v: number) => `${Math.floor(v / 1000)}.${Math.floor((v % 1000) / 10)}`;
const CUBLAS_NAMES = ['libcublas.so.13', 'libcublas.so.12'];

/** The folders the dynamic loader searches, in its order, for the cuBLAS line. @internal */
export function loaderSearchPath(env: NodeJS.ProcessEnv = process.env): string[] {
  const dirs = (env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean);
  const cache = '/etc/ld.so.cache';
  return [...dirs, fs.existsSync(cache) ? `${cache} (ldconfig's folders)` : '/lib, /usr/lib'];
}

/** cuBLAS files in the usual CUDA folders, which the loader may not search (a hint, not a probe). */
function cublasOnDisk(): string[] {
  const roots = ['/usr/local/cuda/lib64', '/usr/local/cuda/targets/x86_64-linux/lib', '/usr/local/cuda/targets/sbsa-linux/lib', '/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu'];
  try {
    for (const d of fs.readdirSync('/usr/local')) if (/^cuda-[\d.]+$/.test(d)) roots.push(path.join('/usr/local', d, 'lib64'));
  } catch {
    // no /usr/local
  }
  return roots.flatMap((d) => CUBLAS_NAMES.map((n) => path.join(d, n))).filter((f) => fs.existsSync(f));
}

/** One line per CUDA fact, telling "no driver", "old driver", "no device" and "no cuBLAS" apart. @internal */
export function cudaLines(cuda: BackendInfo['cuda'], env: NodeJS.ProcessEnv = process.env): string[] {
  if (!cuda.libraryLoaded) return [`CUDA: not available: ${cuda.reason}`];
  const lines = [`CUDA backend: ${cuda.libraryPath} (CUDA runtime ${cudaVersion(cuda.runtimeVersion)})`];
  if (cuda.driverVersion === 0) lines.push('NVIDIA driver: none found (libcuda.so.1 is not loadable): install the NVIDIA driver to use a GPU');
  else if (cuda.driverVersion < cuda.runtimeVersion)
    lines.push(`NVIDIA driver: supports CUDA ${cudaVersion(cuda.driverVersion)}, older than cfkit's runtime ${cudaVersion(cuda.runtimeVersion)}: update the driver`);
  else lines.push(`NVIDIA driver: supports CUDA ${cudaVersion(cuda.driverVersion)}`);
  if (cuda.driverVersion >= cuda.runtimeVersion && cuda.devices.length === 0) lines.push('GPU: no CUDA device found');
  for (const d of cuda.devices) lines.push(`GPU: ${d.name}, ${(d.memoryBytes / 2 ** 30).toFixed(1)} GiB, sm_${d.computeCapability.replace('.', '')}`);
  const where = env.CFKIT_CUBLAS_PATH
    ? `CFKIT_CUBLAS_PATH=${env.CFKIT_CUBLAS_PATH}`
    : `${CUBLAS_NAMES.join(' and ')} through the loader: ${loaderSearchPath(env).join(', ')}`;
  if (cuda.cublasLoaded) lines.push(`cuBLAS: ${cuda.cublasPath} (version ${cuda.cublasVersion})`);
  else if (cuda.devices.length === 0) lines.push(`cuBLAS: not probed without a device; cfkit looks for ${where}`);
  else lines.push(`cuBLAS: not found (${cuda.cublasError || cuda.reason}); cfkit looked for ${where}`);
  if (!cuda.cublasLoaded) {
    const found = cublasOnDisk();
    if (found.length && !env.CFKIT_CUBLAS_PATH) lines.push(`  found on disk: ${found.join(', ')}; set CFKIT_CUBLAS_PATH to one of them if the loader does not find it`);
  }
  lines.push(`device (auto): ${cuda.available ? 'cuda' : 'cpu'}`);
  return lines;
}

/** Prints the report; exit status 1 when the addon does not load. */
export function doctor(opts: { json?: boolean }): void {
  const distro = detectDistro();
  const header = `cfkit ${version} on ${process.platform}-${process.arch} (${distro.name}), Node ${process.version}`;
  let info: BackendInfo;
  try {
    info = backendInfo();
  } catch (err) {
    if (!(err instanceof NativeLoadError)) throw err;
    const install = readInstallFailure(packageRoot);
    if (opts.json) process.stdout.write(JSON.stringify({ version, system: distro, nativeLoadError: err.message, install }, null, 2) + '\n');
    else process.stdout.write(`${header}\n\n${err.message}\n`);
    process.exitCode = 1;
    return;
  }
  if (opts.json) {
    process.stdout.write(JSON.stringify({ ...info, version, system: distro }, null, 2) + '\n');
    return;
  }
  const lines = [
    header,
    `Node-API ${info.napiVersion}; CPU: ${info.cpu.threads} hardware threads, SIMD ${info.cpu.simd}`,
    `BLAS: ${info.cpu.blas} (${info.cpu.blasThreads} threads)`,
    `SuiteSparse ${info.suitesparse.version} (CHOLMOD ${info.suitesparse.cholmod}, COLAMD ${info.suitesparse.colamd})`,
    ...cudaLines(info.cuda),
  ];
  process.stdout.write(lines.join('\n') + '\n');
}
