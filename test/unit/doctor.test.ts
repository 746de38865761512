import { cudaLines, loaderSearchPath } from '../../lib/cli/doctor';
import type { BackendInfo } from '../../lib/backend';

const base: BackendInfo['cuda'] = {
  available: false,
  reason: '',
  libraryPath: '/app/node_modules/cfkit/prebuilds/linux-x64/libcfkit_cuda.so',
  libraryLoaded: true,
  driverVersion: 0,
  runtimeVersion: 13000,
  devices: [],
  cublasLoaded: false,
  cublasVersion: 0,
  cublasPath: '',
};
const h100 = { name: 'NVIDIA H100 80GB HBM3', memoryBytes: 79.2 * 2 ** 30, computeCapability: '9.0', multiprocessors: 132 };
const env = { LD_LIBRARY_PATH: '/opt/cuda/lib64' };

describe('cfkit doctor on CUDA', () => {
  test('tells no driver, an old driver, no device and no cuBLAS apart', () => {
    const noDriver = cudaLines(base, env);
    expect(noDriver).toContain('NVIDIA driver: none found (libcuda.so.1 is not loadable): install the NVIDIA driver to use a GPU');
    expect(noDriver.join('\n')).not.toMatch(/older than|insufficient/);

    const old = cudaLines({ ...base, driverVersion: 12020 }, env);
    expect(old).toContain("NVIDIA driver: supports CUDA 12.2, older than cfkit's runtime 13.0: update the driver");
    expect(old.join('\n')).not.toMatch(/no CUDA device/);

    const noDevice = cudaLines({ ...base, driverVersion: 13010 }, env);
    expect(noDevice).toContain('NVIDIA driver: supports CUDA 13.1');
    expect(noDevice).toContain('GPU: no CUDA device found');

    const noCublas = cudaLines({ ...base, driverVersion: 13010, devices: [h100], cublasError: 'libcublas.so.13: cannot open shared object file' }, env);
    expect(noCublas).toContain('GPU: NVIDIA H100 80GB HBM3, 79.2 GiB, sm_90');
    const line = noCublas.find((l) => l.startsWith('cuBLAS:'))!;
    expect(line).toMatch(/^cuBLAS: not found \(libcublas\.so\.13: cannot open shared object file\); cfkit looked for libcublas\.so\.13 and libcublas\.so\.12 through the loader: \/opt\/cuda\/lib64, /);
    expect(cudaLines({ ...base, driverVersion: 13010, devices: [h100] }, { CFKIT_CUBLAS_PATH: '/x/lib' }).join('\n')).toMatch(/looked for CFKIT_CUBLAS_PATH=\/x\/lib/);

    const ok = cudaLines({ ...base, available: true, driverVersion: 13010, devices: [h100], cublasLoaded: true, cublasPath: 'libcublas.so.13', cublasVersion: 130100 }, env);
    expect(ok).toContain('cuBLAS: libcublas.so.13 (version 130100)');
    expect(ok[ok.length - 1]).toBe('device (auto): cuda');
  });

  test('without the CUDA backend it says why', () => {
    expect(cudaLines({ ...base, libraryLoaded: false, reason: 'GPU backend not loadable: libcfkit_cuda.so: cannot open shared object file' })).toEqual([
      'CUDA: not available: GPU backend not loadable: libcfkit_cuda.so: cannot open shared object file',
    ]);
  });

  test('the loader path lists LD_LIBRARY_PATH first', () => {
    expect(loaderSearchPath({ LD_LIBRARY_PATH: '/a:/b' }).slice(0, 2)).toEqual(['/a', '/b']);
  });
});
