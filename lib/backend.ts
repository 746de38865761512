import { DeviceError } from './errors';
import { native, NativeCudaInfo } from './native';

export type Device = 'auto' | 'cpu' | 'cuda';

export interface BackendInfo {
  /** Where device: 'auto' work runs now. */
  device: 'cpu' | 'cuda';
  /** Why CUDA is not used, when device is 'cpu'. */
  reason?: string;
  cpu: {
    blas: string;
    blasThreads: number;
    threads: number;
    simd: string;
  };
  suitesparse: { version: string; cholmod: string; colamd: string };
  cuda: NativeCudaInfo;
  napiVersion: number;
}

/** What cfkit found on this machine: BLAS, SuiteSparse, threads and CUDA (or why not). Probes once. */
export function backendInfo(): BackendInfo {
  const n = native();
  const cpu = n.backendInfo();
  const cuda = n.cudaInfo();
  return {
    device: cuda.available ? 'cuda' : 'cpu',
    reason: cuda.available ? undefined : cuda.reason,
    cpu: { blas: cpu.blas, blasThreads: cpu.blasThreads, threads: cpu.hardwareThreads, simd: cpu.simd },
    suitesparse: { version: cpu.suitesparse, cholmod: cpu.cholmod, colamd: cpu.colamd },
    cuda,
    napiVersion: cpu.napiVersion,
  };
}

/**
 * Resolves a device request: 'cpu' never probes; 'auto' falls back to the CPU quietly (the reason is
 * in backendInfo()); 'cuda' throws DeviceError with the reason. CFKIT_DEVICE=cpu forces the CPU.
 */
export function resolveDevice(requested: Device | undefined): 'cpu' | 'cuda' {
  const want = requested ?? 'auto';
  if (want !== 'auto' && want !== 'cpu' && want !== 'cuda') throw new DeviceError(`device must be 'auto', 'cpu' or 'cuda', got ${String(want)}`);
  if (want === 'cpu') return 'cpu';
  const cuda = native().cudaInfo();
  if (cuda.available) return 'cuda';
  if (want === 'cuda') throw new DeviceError(`device 'cuda' was requested but CUDA is not usable: ${cuda.reason}`);
  return 'cpu';
}

/** CPU, because CUDA is not usable or not asked for; with the probe's reason when 'auto' was asked. */
function cpuFallback(want: Device): { device: 'cpu'; reason?: string } {
  return { device: 'cpu', reason: want === 'auto' ? native().cudaInfo().reason : undefined };
}

/**
 * For models without a GPU path yet: 'cuda' is refused with a reason (whether or not a GPU exists),
 * 'auto' runs on the CPU and says why.
 */
export function cpuOnlyDevice(requested: Device | undefined, model: string): { device: 'cpu'; reason?: string } {
  const want = requested ?? 'auto';
  const device = resolveDevice(want);
  if (device === 'cuda') {
    if (want === 'cuda') throw new DeviceError(`${model} has no CUDA path in this build; use device: 'cpu' or 'auto'`);
    return { device: 'cpu', reason: `${model} has no CUDA path in this build` };
  }
  return cpuFallback(want);
}

/**
 * For models whose CUDA path exists but has not yet been checked against the CPU on a real GPU:
 * 'cuda' uses it (and throws DeviceError when CUDA is not usable), while 'auto' stays on the CPU and
 * says so, so that no user gets unverified GPU results without asking for them.
 */
export function unvalidatedGpuDevice(requested: Device | undefined, model: string): { device: 'cpu' | 'cuda'; reason?: string } {
  const want = requested ?? 'auto';
  const device = resolveDevice(want);
  if (want === 'cuda') return { device };
  if (device === 'cuda')
    return { device: 'cpu', reason: `${model}'s CUDA path has not been validated on a GPU yet; pass device: 'cuda' to use it` };
  return cpuFallback(want);
}
