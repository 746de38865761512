import { backendInfo } from '../../lib';

// Runs only where a CUDA device and cuBLAS are usable (the lent GPU machines); skipped elsewhere.
const info = backendInfo();
const describeGpu = info.device === 'cuda' ? describe : describe.skip;

describeGpu('CUDA backend', () => {
  test('the probe lists a device and cuBLAS passed its self-test GEMM', () => {
    expect(info.cuda.devices.length).toBeGreaterThan(0);
    expect(info.cuda.cublasLoaded).toBe(true);
    expect(info.cuda.cublasVersion).toBeGreaterThan(0);
  });
});

describe('CUDA backend without a GPU', () => {
  test('the reason is recorded when CUDA is not used', () => {
    if (info.device === 'cuda') return;
    expect(info.reason).toMatch(/CUDA|cuBLAS|GPU|CFKIT_DEVICE/);
  });
});
