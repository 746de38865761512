import * as path from 'node:path';
import { backendInfo, DeviceError, distill, InfiniteAE, load, MatrixFactorization, syntheticInteractions } from '../../lib';
import { tmpDir } from '../helpers/data';
import { lowRank } from '../helpers/ratings';

// Runs only where a CUDA device and cuBLAS are usable (the lent GPU machines); skipped elsewhere.
const info = backendInfo();
const describeGpu = info.device === 'cuda' ? describe : describe.skip;

// The largest |a − b| and the largest |a|, for tolerances relative to the scores' scale.
function largestDifference(a: Float32Array, b: Float32Array): { worst: number; scale: number } {
  let worst = 0, scale = 0;
  for (let t = 0; t < a.length; t++) {
    worst = Math.max(worst, Math.abs(a[t] - b[t]));
    scale = Math.max(scale, Math.abs(a[t]));
  }
  return { worst, scale };
}

describeGpu('CUDA backend', () => {
  test('the probe lists a device and cuBLAS passed its self-test GEMM', () => {
    expect(info.cuda.devices.length).toBeGreaterThan(0);
    expect(info.cuda.cublasLoaded).toBe(true);
    expect(info.cuda.cublasVersion).toBeGreaterThan(0);
  });

  // The CPU twin is the CPU fit itself: both are float32 Cholesky solves of the same system.
  test('∞-AE on CUDA scores like the CPU fit (float32 tolerance) and agrees on the top 10', async () => {
    const data = syntheticInteractions({ users: 700, items: 150, meanInteractions: 12, clusters: 5, seed: 17 });
    const cpu = await InfiniteAE.fit(data, { lambda: 5, device: 'cpu' });
    const gpu = await InfiniteAE.fit(data, { lambda: 5, device: 'cuda' });
    expect(gpu.info!.device).toBe('cuda');
    const rows = data.selectUsers(Int32Array.from({ length: 50 }, (_, u) => u * 13));
    const a = await cpu.score(rows);
    const b = await gpu.score(rows);
    const { worst, scale } = largestDifference(a, b);
    expect(worst).toBeLessThanOrEqual(2e-3 * scale);
    const ra = await cpu.recommend(rows, { k: 10 });
    const rb = await gpu.recommend(rows, { k: 10 });
    let same = 0;
    for (let r = 0; r < ra.rows; r++) same += ra.items(r).filter((i) => rb.items(r).includes(i)).length;
    expect(same / (10 * ra.rows)).toBeGreaterThanOrEqual(0.95);
    cpu.dispose();
    gpu.dispose();
  });

  // The same α scored on both sides: the GPU scorer (two GEMMs and the NTK kernel, batches of 1024
  // rows) against the CPU scorer of the saved and reloaded model.
  test('∞-AE batched GPU scoring equals CPU scoring of the same model', async () => {
    const data = syntheticInteractions({ users: 2600, items: 300, meanInteractions: 15, clusters: 6, seed: 5 });
    const gpu = await InfiniteAE.fit(data, { lambda: 5, device: 'cuda' });
    const file = path.join(tmpDir(), 'infae-gpu.cfkit');
    await gpu.save(file);
    const cpu = (await load(file)) as InfiniteAE;
    const a = await cpu.score(data);
    const b = await gpu.score(data);
    const { worst, scale } = largestDifference(a, b);
    expect(worst).toBeLessThanOrEqual(1e-4 * scale);
    cpu.dispose();
    gpu.dispose();
  });

  // Hogwild on the GPU races on shared rows, so the twins agree in held-out RMSE, not bit for bit:
  // the GPU may be at most 0.005 worse than the CPU trainer at the same precision (as the GPU check
  // program, native/gpu_check/check_mf.cpp, requires).
  test('MF on CUDA (fp32, fp16, MASCOT) recovers known low-rank factors like the CPU trainer', async () => {
    const { train, test } = lowRank(5);
    const o = { factors: 32, epochs: 60, lr: { alpha: 0.02, beta: 0.01 }, l2: 0.01, init: { std: 0.3 } };
    for (const precision of ['fp32', 'fp16', 'mascot'] as const) {
      const cpu = await MatrixFactorization.fit(train, { ...o, precision, device: 'cpu' });
      const base = cpu.rmse(test).rmse;
      cpu.dispose();
      const gpu = await MatrixFactorization.fit(train, { ...o, precision, device: 'cuda', validation: test });
      expect(gpu.info!.device).toBe('cuda');
      expect(gpu.info!.epochs).toHaveLength(60);
      const rmse = gpu.rmse(test).rmse;
      console.log(`MF k=32 ${precision}: GPU held-out RMSE ${rmse.toFixed(4)} vs CPU ${base.toFixed(4)}`);
      expect(rmse).toBeLessThanOrEqual(base + 0.005);
      gpu.dispose();
    }
  });

  test('pruned MF on CUDA (tensor-core dot products) prunes and trains like the CPU twin', async () => {
    const { train, test } = lowRank(6);
    const o = {
      factors: 64, epochs: 60, lr: { alpha: 0.02, beta: 0.01 }, l2: 0.01, init: { std: 0.3 },
      precision: 'fp16' as const, pruning: { rate: 0.5, rearrangeEvery: 5 },
    };
    const cpu = await MatrixFactorization.fit(train, { ...o, device: 'cpu' });
    const gpu = await MatrixFactorization.fit(train, { ...o, device: 'cuda' });
    const [c, g] = [cpu.rmse(test).rmse, gpu.rmse(test).rmse];
    const [ca, ga] = [cpu.info!.epochs.at(-1)!.activeFactors, gpu.info!.epochs.at(-1)!.activeFactors];
    console.log(`MF k=64 pruned 0.5: GPU RMSE ${g.toFixed(4)} (active ${ga.toFixed(1)}) vs CPU ${c.toFixed(4)} (active ${ca.toFixed(1)})`);
    expect(gpu.info!.device).toBe('cuda');
    expect(ga).toBeLessThan(64);
    expect(Math.abs(ga - ca)).toBeLessThan(8);
    expect(g).toBeLessThanOrEqual(Math.max(1.25 * c, c + 0.05));
    cpu.dispose();
    gpu.dispose();
  });

  // Both sides draw the same Gumbel noise, so the float64 losses agree step by step; Adam then
  // carries rounding differences forward, hence the looser bound after the first step.
  test('DISTILL-CF on CUDA follows the CPU loss step by step and draws the same synthetic users', async () => {
    const data = syntheticInteractions({ users: 400, items: 160, meanInteractions: 10, clusters: 4, seed: 21 });
    const opts = { budget: 24, gumbelSamples: 6, steps: 6, evalEvery: 3, seed: 4 };
    const cpu = await distill(data, { ...opts, device: 'cpu' });
    const gpu = await distill(data, { ...opts, device: 'cuda' });
    expect(gpu.device).toBe('cuda');
    expect(gpu.loss).toHaveLength(6);
    expect(Math.abs(gpu.loss[0] - cpu.loss[0])).toBeLessThanOrEqual(1e-9 * Math.abs(cpu.loss[0]));
    for (let t = 0; t < 6; t++) expect(Math.abs(gpu.loss[t] - cpu.loss[t])).toBeLessThanOrEqual(1e-5 * Math.abs(cpu.loss[t]));
    expect(gpu.bestStep).toBe(cpu.bestStep);
    const a = cpu.data.csr(), b = gpu.data.csr();
    expect(Array.from(b.indptr)).toEqual(Array.from(a.indptr));
    const { worst } = largestDifference(a.values as Float32Array, b.values as Float32Array);
    expect(worst).toBeLessThanOrEqual(1e-4);
  });
});

describe('CUDA backend without a GPU', () => {
  test('the reason is recorded when CUDA is not used', () => {
    if (info.device === 'cuda') return;
    expect(info.reason).toMatch(/CUDA|cuBLAS|GPU|CFKIT_DEVICE/);
  });

  test("DISTILL-CF refuses device 'cuda' with E_DEVICE and says why 'auto' stayed on the CPU", async () => {
    if (info.device === 'cuda') return;
    const data = syntheticInteractions({ users: 60, items: 40, meanInteractions: 6, seed: 2 });
    await expect(distill(data, { budget: 4, gumbelSamples: 2, steps: 1, device: 'cuda' })).rejects.toBeInstanceOf(DeviceError);
    const res = await distill(data, { budget: 4, gumbelSamples: 2, steps: 1 });
    expect(res.device).toBe('cpu');
    expect(res.deviceReason).toMatch(/CUDA|cuBLAS|GPU|CFKIT_DEVICE/);
  });
});
