import * as path from 'node:path';
import { evaluate, holdoutUsers, ImplicitALS, Interactions, load, syntheticInteractions } from '../../lib';
import type { ProgressEvent } from '../../lib';
import { tmpDir } from '../helpers/data';

// Dense double Cholesky solve of A x = b (A symmetric positive definite, n x n row-major).
function solve(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const l = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    let d = a[j * n + j];
    for (let t = 0; t < j; t++) d -= l[j * n + t] ** 2;
    l[j * n + j] = Math.sqrt(d);
    for (let i = j + 1; i < n; i++) {
      let s = a[i * n + j];
      for (let t = 0; t < j; t++) s -= l[i * n + t] * l[j * n + t];
      l[i * n + j] = s / l[j * n + j];
    }
  }
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i];
    for (let t = 0; t < i; t++) s -= l[i * n + t] * y[t];
    y[i] = s / l[i * n + i];
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i];
    for (let t = i + 1; t < n; t++) s -= l[t * n + i] * x[t];
    x[i] = s / l[i * n + i];
  }
  return x;
}

// The exact weighted least-squares solution of every item's row against the user factors W, as
// Rendle et al. write it: (Σ_{u∈U_i} w_u w_uᵀ + α₀ WᵀW + λ(|U_i| + α₀|U|)^ν I) h_i = Σ_{u∈U_i} w_u.
function referenceItems(x: Interactions, w: Float32Array, k: number, l2: number, alpha0: number, nu: number): Float64Array {
  const users = x.numUsers, items = x.numItems;
  const gram = new Float64Array(k * k);
  for (let u = 0; u < users; u++) for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) gram[a * k + b] += w[u * k + a] * w[u * k + b];
  const byItem: number[][] = Array.from({ length: items }, () => []);
  for (let u = 0; u < users; u++) for (const i of x.row(u).items) byItem[i].push(u);
  const h = new Float64Array(items * k);
  for (let i = 0; i < items; i++) {
    const a = Float64Array.from(gram, (g) => alpha0 * g);
    const b = new Float64Array(k);
    const reg = l2 * Math.pow(byItem[i].length + alpha0 * users, nu);
    for (let d = 0; d < k; d++) a[d * k + d] += reg;
    for (const u of byItem[i])
      for (let p = 0; p < k; p++) {
        b[p] += w[u * k + p];
        for (let q = 0; q < k; q++) a[p * k + q] += w[u * k + p] * w[u * k + q];
      }
    h.set(solve(a, b, k), i * k);
  }
  return h;
}

describe('ImplicitALS', () => {
  const data = syntheticInteractions({ users: 600, items: 150, clusters: 6, meanInteractions: 15, seed: 4 });

  test('each sweep lands on the exact weighted least-squares solution, and the loss falls', async () => {
    // Exact solves, and conjugate gradient with 3k steps (it converges in k in exact arithmetic).
    for (const cgSteps of [0, 24]) {
      const events: ProgressEvent[] = [];
      const opts = { factors: 8, epochs: 5, cgSteps, l2: 0.05, unobservedWeight: 0.2, regularizationExponent: 1, onProgress: (e: ProgressEvent) => events.push(e) };
      const m = await ImplicitALS.fit(data, opts);
      const w = m.userFactors().factors;
      const h = m.itemFactors().factors;
      // Items are solved last in an epoch, against the final W.
      const ref = referenceItems(data, w, 8, 0.05, 0.2, 1);
      let worst = 0, norm = 0;
      for (let t = 0; t < ref.length; t++) {
        worst = Math.max(worst, Math.abs(h[t] - ref[t]));
        norm = Math.max(norm, Math.abs(ref[t]));
      }
      expect(worst / norm).toBeLessThan(1e-6);
      const losses = m.info!.epochs.map((e) => e.loss);
      if (cgSteps === 0) for (let e = 1; e < losses.length; e++) expect(losses[e]).toBeLessThanOrEqual(losses[e - 1] * (1 + 1e-12));
      expect(events.filter((e) => e.stage === 'epoch').map((e) => e.loss)).toEqual(losses);
      m.dispose();
    }
  });

  test('the factors do not depend on the thread count, and a seed changes them', async () => {
    const a = await ImplicitALS.fit(data, { factors: 16, epochs: 3, threads: 1 });
    const b = await ImplicitALS.fit(data, { factors: 16, epochs: 3, threads: 3 });
    const c = await ImplicitALS.fit(data, { factors: 16, epochs: 3, threads: 3, seed: 7 });
    expect(Buffer.from(a.itemFactors().factors.buffer).equals(Buffer.from(b.itemFactors().factors.buffer))).toBe(true);
    expect(Buffer.from(a.userFactors().factors.buffer).equals(Buffer.from(b.userFactors().factors.buffer))).toBe(true);
    expect(Buffer.from(a.itemFactors().factors.buffer).equals(Buffer.from(c.itemFactors().factors.buffer))).toBe(false);
    [a, b, c].forEach((m) => m.dispose());
  });

  test('serves known users, folds in new ones, finds similar items by cosine, and saves', async () => {
    const split = holdoutUsers(data, { testUsers: 100, seed: 3 });
    const m = await ImplicitALS.fit(split.train, { factors: 16, epochs: 8, l2: 0.01, unobservedWeight: 0.1 });
    // Held-out users are folded in from their inputs.
    const report = await evaluate(m, split.test, ['recall@20']);
    expect(report.metrics['recall@20']).toBeGreaterThan(0.2);

    // A known user by id uses its own factors: the top item scores w_u·h_i.
    const user = m.history!.userIds.id(5);
    const recs = await m.recommendUsers([user], { k: 3, exclude: [m.itemIds.id(0)] });
    const { factors: w } = m.userFactors();
    const { factors: h } = m.itemFactors();
    const top = m.itemIds.index(recs.items(0)[0])!;
    let dot = 0;
    for (let d = 0; d < 16; d++) dot += w[5 * 16 + d] * h[top * 16 + d];
    expect(recs.scoresOf(0)[0]).toBeCloseTo(dot, 4);
    expect(recs.items(0)).not.toContain(m.itemIds.id(0));

    // Similar items by cosine of item factors.
    const sim = await m.similarItems([m.itemIds.id(2)], { k: 1 });
    const j = m.itemIds.index(sim.items(0)[0])!;
    const cos = (p: number, q: number) => {
      let s = 0, np = 0, nq = 0;
      for (let d = 0; d < 16; d++) (s += h[p * 16 + d] * h[q * 16 + d]), (np += h[p * 16 + d] ** 2), (nq += h[q * 16 + d] ** 2);
      return s / Math.sqrt(np * nq);
    };
    expect(sim.scoresOf(0)[0]).toBeCloseTo(cos(2, j), 4);
    for (let q = 0; q < m.numItems; q++) if (q !== 2) expect(cos(2, q)).toBeLessThanOrEqual(cos(2, j) + 1e-6);

    const file = path.join(tmpDir(), 'ials.cfk');
    await m.save(file);
    const back = await load(file);
    expect(back.type).toBe('ials');
    const again = await back.recommendUsers([user], { k: 3, exclude: [m.itemIds.id(0)] });
    expect(again.items(0)).toEqual(recs.items(0));
    const folded = await back.recommendItems([[m.itemIds.id(1), m.itemIds.id(4)]], { k: 5 });
    expect(folded.items(0)).toHaveLength(5);
    expect((await ImplicitALS.load(file)).factors).toBe(16);
    m.dispose();
    back.dispose();
  });

  test('bad options are E_INPUT', async () => {
    await expect(ImplicitALS.fit(data, { factors: 0 })).rejects.toMatchObject({ code: 'E_INPUT' });
    await expect(ImplicitALS.fit(data, { l2: -1 })).rejects.toMatchObject({ code: 'E_INPUT' });
    await expect(ImplicitALS.fit(data, { l2: 0, unobservedWeight: 0 })).rejects.toMatchObject({ code: 'E_INPUT' });
    await expect(ImplicitALS.fit(data, { cgSteps: 1.5 })).rejects.toMatchObject({ code: 'E_INPUT' });
  });
});
