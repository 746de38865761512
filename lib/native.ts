/**
 * The only module that touches the compiled addon. It finds and loads `cfkit.node`, turns load
 * failures into one actionable error, and declares the addon's private, typed interface.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { NativeLoadError } from './errors';
import { detectDistro, Distro, installFix, readInstallFailure, systemPackagesFix } from './system-packages';

/** Compressed sparse rows as the addon takes them (values default to 1). */
export interface CsrArrays {
  rows: number;
  cols: number;
  indptr: Int32Array;
  indices: Int32Array;
  values?: Float32Array;
}

export interface NativeProgress {
  stage: string;
  fraction: number;
  loss?: number;
  [figure: string]: number | string | undefined;
}

export interface NativeAbortFlag {
  abort(): void;
  readonly aborted: boolean;
}

export interface NativeJobOptions {
  threads: number;
  abort?: NativeAbortFlag;
  onProgress?: (p: NativeProgress) => void;
  /** Run on the calling thread when the model estimates the work as small (serving calls). */
  inline?: boolean;
}

export interface NativeModelHandle {
  type(): string;
  numItems(): number;
  memoryBytes(): number;
  dispose(): void;
  readonly disposed: boolean;
  /** A copy of a named model array (EASE 'weights'; SANSA 'encoder.indptr', 'decoder.values', …). */
  exportArray(name: string): Float32Array | Int32Array;
}

export interface NativeIalsEpoch {
  epoch: number;
  /** L(W, H) after the epoch. */
  loss: number;
  seconds: number;
}

export interface NativeMfEpoch {
  epoch: number;
  trainRmse: number;
  validRmse?: number;
  seconds: number;
  lr: number;
  groupsSwitched: number;
  activeFactors: number;
}

/** SANSA training statistics; nnzFactorFull is CHOLMOD's exact factor before sparsification (0 for ICF). */
export interface NativeSansaStats {
  seconds: { ordering: number; factorize: number; sparsify: number; inverse: number; weights: number };
  items: number;
  nnzFactorFull: number;
  /** The CHOLMOD factorizer's exact factor was computed densely (LAPACK potrf) because it filled in. */
  denseFactor: boolean;
  /**
   * The CHOLMOD factorizer's exact factor was computed in float32 (dense LAPACK, or supernodal on
   * CHOLMOD's analysis), as it is whenever sparsification keeps at most half of its nonzeros.
   */
  float32Factor: boolean;
  nnzL: number;
  nnzInverse: number;
  nnzWeights: number;
  icfRestarts: number;
  icfShift: number;
  umrLoss: Float64Array;
}

export interface NativeSansaOptions {
  l2: number;
  density: number;
  factorizer: 'cholmod' | 'icf';
  ordering: 'colamd' | 'amd' | 'natural';
  inverse: 'umr' | 'exact';
  scans: number;
  finetune: number;
  logNormThreshold: number;
  lossThreshold: number;
  shiftStep: number;
  shiftMultiplier: number;
  maxRestarts: number;
}

/** Opaque handle on a native item bitset. */
export type NativeItemFilter = { readonly __brand: 'NativeItemFilter' };

/** k and the filters of a recommend call: per-row lists as CSR rows, shared sets as bitsets. */
export interface NativeFilterOptions {
  k: number;
  exclude?: CsrArrays;
  include?: CsrArrays;
  excludeFilter?: NativeItemFilter;
  includeFilter?: NativeItemFilter;
  minScore?: number;
  /** Rows served by the cold-start fallback (one flag per row), ranked by fallbackScores (one per item) when given, else left empty. */
  fallbackRows?: Uint8Array;
  fallbackScores?: Float32Array;
  /** recommend only: never return a row's own input items (default true), and each row's training user (MF). */
  maskInput?: boolean;
  users?: Int32Array;
}

export interface NativeTopK {
  rows: number;
  k: number;
  ids: Int32Array;
  scores: Float32Array;
}

export interface NativeEvalResult {
  perUser: Float64Array;
  valid: Uint8Array;
  coverage: Float64Array;
}

export interface NativeCpuInfo {
  blas: string;
  blasThreads: number;
  suitesparse: string;
  cholmod: string;
  colamd: string;
  hardwareThreads: number;
  simd: string;
  napiVersion: number;
}

export interface NativeCudaInfo {
  available: boolean;
  reason: string;
  libraryPath: string;
  libraryLoaded: boolean;
  driverVersion: number;
  runtimeVersion: number;
  devices: { name: string; memoryBytes: number; computeCapability: string; multiprocessors: number }[];
  cublasLoaded: boolean;
  cublasVersion: number;
  cublasPath: string;
  cublasError?: string;
}

export interface NativeBinding {
  AbortFlag: new () => NativeAbortFlag;
  easeFit(x: CsrArrays, opts: { l2: number; float64: boolean }, job: NativeJobOptions): Promise<NativeModelHandle>;
  easeFromWeights(nItems: number, weights: Float32Array): NativeModelHandle;
  sansaFit(x: CsrArrays, opts: NativeSansaOptions, job: NativeJobOptions): Promise<{ model: NativeModelHandle; stats: NativeSansaStats }>;
  sansaFromWeights(encoder: CsrArrays, decoder: CsrArrays): NativeModelHandle;
  infaeFit(
    support: CsrArrays,
    opts: { lambdas: Float64Array; float64: boolean; cuda?: boolean; validation?: { inputs: CsrArrays; targets: CsrArrays } },
    job: NativeJobOptions,
  ): Promise<{ model: NativeModelHandle; lambda: number; grid: { lambda: number; hr100: number }[]; seconds: { gram: number; kernel: number; solve: number } }>;
  infaeFromWeights(support: CsrArrays, alphaT: Float32Array): NativeModelHandle;
  infaeKernel(rows: CsrArrays, support: CsrArrays): Float32Array;
  distill(
    real: CsrArrays,
    opts: { cuda: boolean; budget: number; gumbelSamples: number; tau: number; steps: number; lr: number; cardinalityReg: number; seed: number; evalEvery: number; lambdas: Float64Array },
    validation: { inputs: CsrArrays; targets: CsrArrays } | null,
    job: NativeJobOptions,
  ): Promise<{ synthetic: Required<CsrArrays>; lambda: number; hr100: number; bestStep: number; loss: Float64Array }>;
  mfFit(
    ratings: CsrArrays,
    opts: Record<string, number | string | boolean>,
    valid: CsrArrays | null,
    job: NativeJobOptions,
  ): Promise<{ model: NativeModelHandle; epochs: NativeMfEpoch[]; groupsTotal: number; dimensionOrder: Int32Array; mean: number }>;
  detachBuffers(views: ArrayBufferView[]): number;
  ialsFit(x: CsrArrays, options: Record<string, number>, job: NativeJobOptions): Promise<{ model: NativeModelHandle; epochs: NativeIalsEpoch[] }>;
  ialsFromFactors(users: number, items: number, factors: number, w: Float32Array, h: Float32Array, l2: number, unobservedWeight: number, regularizationExponent: number): NativeModelHandle;
  mfFromWeights(users: number, items: number, factors: number, p: Float32Array, q: Float32Array, foldInL2: number, mean: number): NativeModelHandle;
  mfPredict(model: NativeModelHandle, users: Int32Array, items: Int32Array): Float32Array;
  fixedScores(scores: Float32Array, rows: number, items: number): NativeModelHandle;
  score(model: NativeModelHandle, inputs: CsrArrays, job: NativeJobOptions, users?: Int32Array): Promise<Float32Array>;
  recommend(model: NativeModelHandle, inputs: CsrArrays, opts: NativeFilterOptions, job: NativeJobOptions): Promise<NativeTopK>;
  similarItems(model: NativeModelHandle, items: Int32Array, opts: NativeFilterOptions, job: NativeJobOptions): Promise<NativeTopK>;
  /** A native bitset of the given item indices, freed by the GC. */
  itemFilter(numItems: number, items: Int32Array): NativeItemFilter;
  evaluate(
    model: NativeModelHandle,
    inputs: CsrArrays,
    targets: CsrArrays,
    opts: { kinds: Int32Array; ks: Int32Array; propensity?: Float32Array; users?: Int32Array },
    job: NativeJobOptions,
  ): Promise<NativeEvalResult>;
  backendInfo(): NativeCpuInfo;
  cudaInfo(): NativeCudaInfo;
}

/** The package root: dist/native.js and lib/native.ts both sit one level below it. */
export const packageRoot = path.resolve(__dirname, '..');

let cached: NativeBinding | undefined;

function libcDescription(): string {
  if (process.platform !== 'linux') return 'n/a';
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  return header?.glibcVersionRuntime ? `glibc ${header.glibcVersionRuntime}` : 'musl or unknown libc';
}

/** A git checkout builds with npm scripts; an installed package is rebuilt where it is installed. */
function isDevCheckout(): boolean {
  return fs.existsSync(path.join(packageRoot, '.git'));
}

/** Fixes keyed on what the dynamic loader said. */
function suggestions(message: string, distro: Distro): string[] {
  const rebuild = isDevCheckout() ? 'npm run build' : 'npm rebuild cfkit';
  const packages = systemPackagesFix(distro).join(' && ');
  const fixes: string[] = [];
  const missing = /(lib[\w.+-]+\.so[\w.]*): cannot open shared object file/.exec(message)?.[1];
  if (missing) {
    const what = /cholmod|colamd|amd|suitesparse|camd|ccolamd|metis/.test(missing)
      ? 'SuiteSparse'
      : /openblas|blas|lapack|gfortran/.test(missing)
        ? 'OpenBLAS'
        : 'the package that provides it';
    fixes.push(`${missing} is missing: install ${what} (${packages}), then ${rebuild}`);
  }
  const glibc = /GLIBC_(\d+\.\d+)' not found/.exec(message)?.[1];
  if (glibc) fixes.push(`the prebuilt addon needs glibc >= ${glibc}: build it here (${packages}, then ${rebuild})`);
  if (/No native build was found/.test(message))
    fixes.push(`no prebuilt addon matches this platform and none was built: ${packages}, then ${rebuild}`);
  if (/NODE_MODULE_VERSION|napi/i.test(message)) fixes.push(`rebuild the addon for this Node.js: ${rebuild}`);
  if (/wrong ELF class|cannot open shared object file: Exec format error|ELF file's machine/i.test(message))
    fixes.push(`the addon was built for another CPU: ${rebuild}`);
  if (fixes.length === 0) fixes.push(`${packages}, then ${rebuild}; 'npx cfkit doctor' shows what cfkit finds`);
  return fixes;
}

function locate(): string {
  // node-gyp-build honours build/Release during development, then prebuilds/<platform>-<arch>.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const gypBuild = require('node-gyp-build') as { path(dir: string): string };
  return gypBuild.path(packageRoot);
}

/**
 * @internal The OpenBLAS kernel family a CPU with these /proc/cpuinfo flags can run, or undefined
 * when OpenBLAS's own choice is as good as ours.
 */
export function openBlasCoreFor(flags: ReadonlySet<string>): string | undefined {
  if (['avx512f', 'avx512cd', 'avx512bw', 'avx512dq', 'avx512vl'].every((f) => flags.has(f))) return 'SkylakeX';
  if (flags.has('avx2') && flags.has('fma')) return 'Haswell';
  return undefined;
}

/** @internal The family for this machine's CPU (Linux x86-64 only), or undefined. */
export function openBlasCoreForThisCpu(): string | undefined {
  if (process.platform !== 'linux' || process.arch !== 'x64') return undefined;
  try {
    const flags = /^flags\s*:(.*)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'latin1'))?.[1];
    return flags ? openBlasCoreFor(new Set(flags.trim().split(/\s+/))) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * OpenBLAS built with DYNAMIC_ARCH (Debian's, for one) picks its kernels from the CPU model when it
 * loads. Releases older than the CPU fall back to Prescott (SSE3) kernels: Debian bookworm's 0.3.21
 * does so on Sapphire Rapids, and its GEMM and Cholesky run 4–5× slower. So, unless the user chose
 * one, name the family the CPU's flags support before the addon loads OpenBLAS. backendInfo()
 * shows the core OpenBLAS ended up with. Hosts that give code a copy of process.env (Jest's test
 * sandbox) or load cfkit first in a worker thread keep this from reaching OpenBLAS; there, set the
 * variable beforehand or call this from the host's own process (see test/global-setup.ts).
 * @internal
 */
export function chooseOpenBlasCore(): void {
  if (process.env.OPENBLAS_CORETYPE !== undefined) return;
  const core = openBlasCoreForThisCpu();
  if (core) process.env.OPENBLAS_CORETYPE = core;
}

/**
 * After each call, OpenBLAS's worker threads spin for 2^28 cycles (about 0.1 s) before they sleep.
 * cfkit's own threads often run right after a BLAS call (SANSA's factorization alternates the two
 * thousands of times), and spinning workers then take their cores: Gowalla's scattered updates took
 * 2.9 s instead of 1.9 s on 2 threads. 2^4 cycles (OpenBLAS's smallest) puts workers to sleep at
 * once; waking them costs microseconds per call, which the SANSA fits measured (ML-1M, Last.fm,
 * Gowalla; both factorizers) did not show. Unless the user set OPENBLAS_THREAD_TIMEOUT, set it
 * before the addon loads OpenBLAS (same caveats as above).
 * @internal
 */
export function chooseOpenBlasThreadTimeout(): void {
  if (process.env.OPENBLAS_THREAD_TIMEOUT === undefined) process.env.OPENBLAS_THREAD_TIMEOUT = '4';
}

/** @internal Everything cfkit sets in the environment before OpenBLAS loads. */
export function prepareOpenBlas(): void {
  chooseOpenBlasCore();
  chooseOpenBlasThreadTimeout();
}

/** Loads the addon once per process (per worker thread), or throws NativeLoadError. */
export function native(): NativeBinding {
  if (cached) return cached;
  prepareOpenBlas();
  let file = path.join(packageRoot, 'build', 'Release', 'cfkit.node') + ' or prebuilds/' + `${process.platform}-${process.arch}/`;
  try {
    file = locate();
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    cached = require(file) as NativeBinding;
    return cached;
  } catch (err) {
    throw loadError(err, file);
  }
}

/** @internal The error for a failed load: platform, arch, libc, the file tried, and fixes. */
export function loadError(err: unknown, file: string): NativeLoadError {
  const message = err instanceof Error ? err.message : String(err);
  const distro = detectDistro();
  const install = isDevCheckout() ? undefined : readInstallFailure(packageRoot);
  const lines = [
    'cfkit could not load its native addon.',
    `  platform: ${process.platform}, arch: ${process.arch}, libc: ${libcDescription()}, ` +
      `node: ${process.version}, Node-API: ${process.versions.napi}, system: ${distro.name}`,
    `  file tried: ${file}${fs.existsSync(file) ? '' : ' (not found)'}`,
    `  loader said: ${message.split('\n')[0]}`,
  ];
  if (install) {
    lines.push(`  the install (${install.time}) could not build it: ${install.reason}`);
    if (install.log) lines.push(`  build log: ${install.log}`);
    lines.push(`Fix it on ${distro.name}:`, ...installFix(distro).map((c) => `  ${c}`));
  } else {
    lines.push('Possible solutions:', ...suggestions(message, distro).map((s) => `  - ${s}`));
  }
  return new NativeLoadError(lines.join(os.EOL), { cause: err });
}
