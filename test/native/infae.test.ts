import * as path from 'node:path';
import { backendInfo, DeviceError, holdoutUsers, IdMap, InfiniteAE, InputError, Interactions, load, perUserFractions, syntheticInteractions } from '../../lib';
import { tmpDir } from '../helpers/data';

const data = syntheticInteractions({ users: 80, items: 40, meanInteractions: 8, clusters: 4, seed: 23 });

/** The closed form of ALGORITHMS.md §3.1, evaluated directly in double precision. */
function ntk(a: Interactions, ua: number, b: Interactions, ub: number): number {
  const I = a.numItems;
  const dot = (x: Int32Array, y: Int32Array) => x.filter((i) => y.includes(i)).length;
  const ra = a.row(ua).items;
  const rb = b.row(ub).items;
  const s1 = (2 * dot(ra, rb)) / I + 0.01;
  const cu = (2 * ra.length) / I + 0.01;
  const cv = (2 * rb.length) / I + 0.01;
  const theta = Math.acos(Math.min(1, s1 / Math.sqrt(cu * cv)));
  return (Math.sqrt(Math.max(0, cu * cv - s1 * s1)) + 2 * (Math.PI - theta) * s1) / Math.PI + 0.01;
}

/** Solves (K + c I) α = X by Gauss-Jordan in double. */
function krr(k: Float64Array, n: number, x: Interactions, c: number): Float64Array {
  const m = x.numItems;
  const a = Float64Array.from(k);
  for (let i = 0; i < n; i++) a[i * n + i] += c;
  const rhs = new Float64Array(n * m);
  for (let u = 0; u < n; u++) for (const i of x.row(u).items) rhs[u * m + i] = 1;
  for (let col = 0; col < n; col++) {
    const piv = a[col * n + col];
    for (let j = 0; j < n; j++) a[col * n + j] /= piv;
    for (let j = 0; j < m; j++) rhs[col * m + j] /= piv;
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const f = a[r * n + col];
      for (let j = 0; j < n; j++) a[r * n + j] -= f * a[col * n + j];
      for (let j = 0; j < m; j++) rhs[r * m + j] -= f * rhs[col * m + j];
    }
  }
  return rhs;
}

describe('∞-AE', () => {
  test('the kernel matches a direct evaluation of the closed form', () => {
    const k = InfiniteAE.kernel(data);
    let worst = 0;
    for (let u = 0; u < data.numUsers; u += 3) for (let v = 0; v < data.numUsers; v += 5) worst = Math.max(worst, Math.abs(k[u * data.numUsers + v] - ntk(data, u, data, v)));
    expect(worst).toBeLessThan(1e-6);
    // Diagonal K(u,u) = 2c_u + 0.01.
    const c0 = (2 * data.row(0).items.length) / data.numItems + 0.01;
    expect(k[0]).toBeCloseTo(2 * c0 + 0.01, 6);
  });

  test('scores equal K·(K + λ·tr(K)/n·I)⁻¹·X solved independently', async () => {
    const lambda = 3;
    for (const dtype of ['float32', 'float64'] as const) {
      const m = await InfiniteAE.fit(data, { lambda, dtype });
      const n = data.numUsers;
      const k = Float64Array.from(InfiniteAE.kernel(data));
      let trace = 0;
      for (let i = 0; i < n; i++) trace += k[i * n + i];
      const alpha = krr(k, n, data, (lambda * trace) / n);
      const scores = await m.score(data.selectUsers([0, 1, 2, 3]));
      let worst = 0;
      for (let r = 0; r < 4; r++)
        for (let j = 0; j < data.numItems; j++) {
          let ref = 0;
          for (let v = 0; v < n; v++) ref += k[r * n + v] * alpha[v * data.numItems + j];
          worst = Math.max(worst, Math.abs(ref - scores[r * data.numItems + j]));
        }
      expect(worst).toBeLessThan(dtype === 'float64' ? 1e-4 : 2e-3);
      m.dispose();
    }
  });

  test('a λ grid is chosen by validation HR@100 and reported', async () => {
    const big = syntheticInteractions({ users: 400, items: 150, seed: 29 });
    const s = perUserFractions(big, { seed: 3 });
    const m = await InfiniteAE.fit(s.train, { lambdaGrid: [0.5, 5, 200], validation: s.validation });
    expect(m.info!.grid.map((g) => g.lambda)).toEqual([0.5, 5, 200]);
    const best = m.info!.grid.reduce((a, b) => (b.hr100 > a.hr100 ? b : a));
    expect(m.lambda).toBe(best.lambda);
    await expect(InfiniteAE.fit(s.train, { lambdaGrid: [1, 2] })).rejects.toBeInstanceOf(InputError);
    m.dispose();
  });

  test('support sampling, new users, save and load', async () => {
    const s = holdoutUsers(data, { testUsers: 10, seed: 2 });
    const m = await InfiniteAE.fit(s.train, { lambda: 5, supportUsers: 30, seed: 1 });
    expect(m.info!.supportUsers).toBe(30);
    const recs = await m.recommend(s.test.inputs, { k: 5 });
    expect(recs.items(0)).toHaveLength(5);
    const file = path.join(tmpDir(), 'infae.cfk');
    await m.save(file);
    const again = await load(file);
    expect(again).toBeInstanceOf(InfiniteAE);
    expect((await again.recommend(s.test.inputs, { k: 5 })).toArray()).toEqual(recs.toArray());
    m.dispose();
    again.dispose();
  });

  test('abort while the kernel is solved rejects with E_ABORTED', async () => {
    const data = syntheticInteractions({ users: 3000, items: 400, meanInteractions: 20, seed: 8 });
    const c = new AbortController();
    const p = InfiniteAE.fit(data, { lambda: 5, threads: 2, signal: c.signal, onProgress: (e) => e.stage === 'solve' && c.abort() });
    await expect(p).rejects.toMatchObject({ code: 'E_ABORTED' });
  });

  test('memory is checked up front; devices are explicit', async () => {
    const err = await InfiniteAE.fit(data, { memoryLimit: 1000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(/needs about .* bytes/);
    if (backendInfo().device === 'cpu') {
      await expect(InfiniteAE.fit(data, { device: 'cuda' })).rejects.toBeInstanceOf(DeviceError);
      const m = await InfiniteAE.fit(data, { device: 'auto' });
      expect(m.info!.device).toBe('cpu');
      expect(m.info!.deviceReason).toBeTruthy();
      m.dispose();
    }
    const other = Interactions.fromArrays({ users: [0], items: [0] }, { itemIds: IdMap.identity(3) });
    expect(() => InfiniteAE.kernel(data, other)).toThrow(InputError);
  });
});

describe('DISTILL-CF', () => {
  test('learns synthetic users: loss falls, λ comes from the grid, ∞-AE trains on the result', async () => {
    const { distill, DISTILL_LAMBDAS, perUserFractions: split, evaluate } = await import('../../lib');
    const big = syntheticInteractions({ users: 300, items: 80, meanInteractions: 10, clusters: 4, seed: 31 });
    const s = split(big, { seed: 5 });
    const events: number[] = [];
    const d = await distill(s.train, { budget: 20, gumbelSamples: 4, tau: 2, steps: 12, lr: 0.1, evalEvery: 4, validation: s.validation, onProgress: (e) => e.stage === 'distill' && events.push(e.step!) });
    expect(events).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(d.data.numUsers).toBe(20);
    expect(d.data.itemIds).toBe(s.train.itemIds);
    expect(d.loss).toHaveLength(12);
    expect(d.loss[11]).toBeLessThan(d.loss[0]);
    expect(DISTILL_LAMBDAS as readonly number[]).toContain(d.lambda);
    for (const v of d.data.values) expect(v > 0 && v <= 1).toBe(true);
    const m = await InfiniteAE.fit(d.data, { lambda: d.lambda, keepHistory: false });
    const r = await evaluate(m, s.test, ['hr@10']);
    expect(r.metrics['hr@10']).toBeGreaterThan(0);
    m.dispose();
    await expect(distill(s.train, { budget: 1 })).rejects.toBeInstanceOf(InputError);
  });
});
