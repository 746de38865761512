import { AbortError, EASE, InputError, Interactions, load, ProgressEvent, SANSA, syntheticInteractions } from '../../lib';
import * as path from 'node:path';
import { tmpDir } from '../helpers/data';

const data = syntheticInteractions({ users: 600, items: 120, meanInteractions: 12, clusters: 5, seed: 17 });

function maxDiffOffInputs(a: Float32Array, b: Float32Array, inputs: Interactions): number {
  const n = inputs.numItems;
  let worst = 0;
  for (let r = 0; r < inputs.numUsers; r++) {
    const own = new Set(inputs.row(r).items);
    for (let c = 0; c < n; c++) if (!own.has(c)) worst = Math.max(worst, Math.abs(a[r * n + c] - b[r * n + c]));
  }
  return worst;
}

describe('SANSA', () => {
  test('at full density with an exact inverse, scores equal EASE on every non-input item', async () => {
    const ease = await EASE.fit(data, { l2: 30, dtype: 'float64' });
    const sansa = await SANSA.fit(data, { factorizer: 'cholmod', l2: 30, density: 1, inverse: 'exact' });
    const inputs = data.selectUsers(Array.from({ length: 50 }, (_, i) => i));
    expect(maxDiffOffInputs(await ease.score(inputs), await sansa.score(inputs), inputs)).toBeLessThan(1e-4);
    // UMR converges to the same model when given enough scans at full density.
    const umr = await SANSA.fit(data, { factorizer: 'cholmod', l2: 30, density: 1, umr: { scans: 8, finetune: 0, logNormThreshold: -9 } });
    expect(umr.stats!.umrLoss.at(-1)!).toBeLessThan(1e-6);
    expect(maxDiffOffInputs(await ease.score(inputs), await umr.score(inputs), inputs)).toBeLessThan(1e-2);
    for (const m of [ease, sansa, umr]) m.dispose();
  });

  test('UMR loss falls scan by scan and progress reports it', async () => {
    const events: ProgressEvent[] = [];
    const m = await SANSA.fit(data, { factorizer: 'cholmod', l2: 30, density: 0.05, umr: { scans: 4, finetune: 3 }, onProgress: (e) => events.push(e) });
    const loss = m.stats!.umrLoss;
    expect(loss).toHaveLength(1 + 4 + 3);
    for (let s = 1; s <= 4; s++) expect(loss[s]).toBeLessThanOrEqual(loss[s - 1] * (1 + 1e-9));
    expect(loss[4]).toBeLessThan(loss[0] / 2);
    const stages = [...new Set(events.map((e) => e.stage))];
    expect(stages).toEqual(['ordering', 'factorize', 'umr', 'umr-scan', 'umr-finetune', 'weights']);
    expect(events.filter((e) => e.loss !== undefined).map((e) => e.loss)).toEqual(loss);
    expect(m.stats!.nnzL).toBeLessThanOrEqual(Math.ceil(0.05 * 120 * 120));
    m.dispose();
  });

  test('ICF restarts with a growing shift when the factorization breaks down', async () => {
    // Item 'never' has no interactions, so with l2 = 0 its pivot is exactly zero.
    const users = data.rowOfEntry();
    const items = Array.from(data.indices);
    const withEmpty = Interactions.fromArrays({ users, items }, { numUsers: data.numUsers, numItems: data.numItems + 1 });
    const m = await SANSA.fit(withEmpty, { factorizer: 'icf', l2: 0, density: 0.05 });
    expect(m.stats!.icfRestarts).toBeGreaterThanOrEqual(1);
    expect(m.stats!.icfShift).toBeCloseTo(1e-3 * 2 ** (m.stats!.icfRestarts - 1), 12);
    await expect(SANSA.fit(withEmpty, { factorizer: 'icf', l2: 0, icf: { maxRestarts: 0 } })).rejects.toMatchObject({ code: 'E_NUMERIC' });
    m.dispose();
  });

  test('weights and recommendations do not depend on the thread count', async () => {
    for (const factorizer of ['cholmod', 'icf'] as const) {
      const opts = { factorizer, l2: factorizer === 'icf' ? 1 : 30, density: 0.03, umr: { scans: 2, finetune: 3 } };
      const a = await SANSA.fit(data, { ...opts, threads: 1 });
      const b = await SANSA.fit(data, { ...opts, threads: 3 });
      const wa = a.weights();
      const wb = b.weights();
      expect(Array.from(wa.encoder.indices)).toEqual(Array.from(wb.encoder.indices));
      expect(Array.from(wa.decoder.values)).toEqual(Array.from(wb.decoder.values));
      a.dispose();
      b.dispose();
    }
  });

  test('weights() exposes two CSR matrices; masked items never appear even with few positive scores', async () => {
    const m = await SANSA.fit(data, { factorizer: 'icf', l2: 1, density: 0.01 });
    const w = m.weights();
    expect(w.encoder.indptr).toHaveLength(data.numItems + 1);
    expect(w.encoder.indptr[data.numItems]).toBe(w.encoder.indices.length);
    expect(w.decoder.indices.length).toBe(w.encoder.indices.length);
    expect(m.stats!.nnzWeights).toBe(2 * w.encoder.indices.length);
    const hist = Array.from({ length: data.numItems - 3 }, (_, i) => i);
    const recs = await m.recommendItems([hist], { k: 10 });
    expect(recs.items(0).sort()).toEqual([data.numItems - 3, data.numItems - 2, data.numItems - 1].filter((i) => recs.items(0).includes(i)).sort());
    for (const it of recs.items(0)) expect(hist).not.toContain(it);
    m.dispose();
  });

  test('scores are x·W₁·W₂ from weights(), for rows that reach few items and rows that reach most', async () => {
    const m = await SANSA.fit(data, { factorizer: 'icf', l2: 5, density: 0.05 });
    const w = m.weights();
    const n = data.numItems;
    // Rows that reach few items (their scores are copied out item by item), one of them reaching an
    // item through two latent entries, and most of the catalogue (a full pass).
    const reach = (items: number[]) => {
      const latent = new Set<number>();
      for (const it of items) for (let p = w.encoder.indptr[it]; p < w.encoder.indptr[it + 1]; p++) latent.add(w.encoder.indices[p]);
      const seen = new Set<number>();
      let visits = 0;
      let twice = false;
      for (const i of latent)
        for (let p = w.decoder.indptr[i]; p < w.decoder.indptr[i + 1]; p++, visits++) {
          twice ||= seen.has(w.decoder.indices[p]);
          seen.add(w.decoder.indices[p]);
        }
      return { visits, twice };
    };
    const sparse = Array.from({ length: n }, (_, i) => [i]).find((r) => reach(r).twice && 2 * reach(r).visits < n);
    expect(sparse).toBeDefined();
    const rows = [sparse!, [3], Array.from({ length: 90 }, (_, i) => i)];
    expect(2 * reach(rows[2]).visits).toBeGreaterThanOrEqual(n);
    const inputs = Interactions.fromArrays({ users: rows.flatMap((r, u) => r.map(() => u)), items: rows.flat() }, { numUsers: rows.length, numItems: n });
    const got = await m.score(inputs);
    rows.forEach((items, r) => {
      const h = new Float64Array(n);
      for (const it of items)
        for (let p = w.encoder.indptr[it]; p < w.encoder.indptr[it + 1]; p++) h[w.encoder.indices[p]] += w.encoder.values![p];
      const want = new Float64Array(n);
      for (let i = 0; i < n; i++)
        for (let p = w.decoder.indptr[i]; p < w.decoder.indptr[i + 1]; p++) want[w.decoder.indices[p]] += h[i] * w.decoder.values![p];
      for (let c = 0; c < n; c++) expect(Math.abs(got[r * n + c] - want[c])).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(want[c])));
    });
    m.dispose();
  });

  test('save and load keep weights, options and statistics', async () => {
    const m = await SANSA.fit(data, { factorizer: 'cholmod', l2: 30, density: 0.02, umr: { scans: 2, finetune: 4 } });
    const file = path.join(tmpDir(), 'sansa.cfk');
    await m.save(file);
    const again = (await load(file)) as SANSA;
    expect(again).toBeInstanceOf(SANSA);
    expect(again.options).toEqual(m.options);
    expect(again.stats!.umrLoss).toEqual(m.stats!.umrLoss);
    expect(Array.from(again.weights().decoder.values)).toEqual(Array.from(m.weights().decoder.values));
    expect((await again.recommendUsers([1, 2], { k: 5 })).toArray()).toEqual((await m.recommendUsers([1, 2], { k: 5 })).toArray());
    m.dispose();
    again.dispose();
  });

  test('bad options are E_INPUT; abort is E_ABORTED', async () => {
    await expect(SANSA.fit(data, { density: 0 })).rejects.toBeInstanceOf(InputError);
    await expect(SANSA.fit(data, { density: 2 })).rejects.toBeInstanceOf(InputError);
    await expect(SANSA.fit(data, { factorizer: 'lu' as never })).rejects.toThrow(/factorizer/);
    await expect(SANSA.fit(data, { umr: { scans: -1 } })).rejects.toBeInstanceOf(InputError);
    await expect(SANSA.fit(data, { l2: NaN })).rejects.toBeInstanceOf(InputError);
    const c = new AbortController();
    c.abort();
    await expect(SANSA.fit(data, { signal: c.signal })).rejects.toBeInstanceOf(AbortError);
    const big = syntheticInteractions({ users: 3000, items: 1500, seed: 4 });
    const c2 = new AbortController();
    const p = SANSA.fit(big, { factorizer: 'icf', l2: 1, density: 0.01, signal: c2.signal, onProgress: () => c2.abort() });
    await expect(p).rejects.toMatchObject({ code: 'E_ABORTED' });
  });
});
