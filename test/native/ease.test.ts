import * as path from 'node:path';
import { AbortError, DisposedError, EASE, evaluate, holdoutUsers, IdMap, InputError, Interactions, NumericError, ProgressEvent, syntheticInteractions } from '../../lib';
import { naiveEase, tmpDir } from '../helpers/data';

const small = syntheticInteractions({ users: 300, items: 60, meanInteractions: 10, clusters: 4, seed: 11 });

describe('EASE', () => {
  test('weights equal a naive double-precision Gauss-Jordan EASE (float32 and float64)', async () => {
    const ref = naiveEase(small, 25);
    for (const dtype of ['float32', 'float64'] as const) {
      const m = await EASE.fit(small, { l2: 25, dtype, threads: 2 });
      const w = m.weights();
      let worst = 0;
      for (let k = 0; k < ref.length; k++) worst = Math.max(worst, Math.abs(ref[k] - w[k]));
      expect(worst).toBeLessThan(dtype === 'float64' ? 1e-6 : 1e-4);
      for (let i = 0; i < small.numItems; i++) expect(w[i * small.numItems + i]).toBe(0);
      m.dispose();
    }
  });

  test('scores are X·B and top-k masks inputs (never returned, even with fewer than k candidates)', async () => {
    const m = await EASE.fit(small, { l2: 25 });
    const inputs = small.selectUsers([0, 1, 2]);
    const scores = await m.score(inputs);
    const w = m.weights();
    const n = small.numItems;
    for (let r = 0; r < 3; r++) {
      const { items } = inputs.row(r);
      for (const j of [0, 7, n - 1]) {
        let s = 0;
        for (const i of items) s += w[i * n + j];
        expect(scores[r * n + j]).toBeCloseTo(s, 4);
      }
    }
    const recs = await m.recommend(inputs, { k: 10 });
    for (let r = 0; r < 3; r++) {
      const own = new Set(Array.from(inputs.row(r).items, (i) => small.itemIds.id(i)));
      const got = recs.items(r);
      expect(got).toHaveLength(10);
      for (const it of got) expect(own.has(it)).toBe(false);
      const sc = recs.scoresOf(r);
      for (let j = 1; j < sc.length; j++) expect(sc[j]).toBeLessThanOrEqual(sc[j - 1]);
    }
    // A user who has every item but two gets exactly two recommendations.
    const all = Array.from({ length: n - 2 }, (_, i) => i + 2);
    const nearly = await m.recommendItems([all], { k: 10 });
    expect(nearly.items(0).sort()).toEqual([0, 1]);
    expect(Array.from(nearly.indices.subarray(2, 10))).toEqual(new Array(8).fill(-1));
    m.dispose();
  });

  test('known users by id, new users by item lists, exclude lists, similar items', async () => {
    const m = await EASE.fit(small, { l2: 25 });
    const byId = await m.recommendUsers([5], { k: 5 });
    const byFold = await m.recommend(small.selectUsers([5]), { k: 5 });
    expect(byId.items(0)).toEqual(byFold.items(0));
    const hist = Array.from(small.row(5).items, (i) => small.itemIds.id(i));
    const byItems = await m.recommendItems([hist], { k: 5 });
    expect(byItems.items(0)).toEqual(byId.items(0));
    const banned = byId.items(0).slice(0, 2);
    const ex = await m.recommendUsers([5], { k: 5, exclude: banned });
    for (const b of banned) expect(ex.items(0)).not.toContain(b);
    const sim = await m.similarItems([3], { k: 4 });
    expect(sim.items(0)).not.toContain(3);
    const w = m.weights();
    const row = Array.from(w.subarray(3 * small.numItems, 4 * small.numItems)).map((v, j) => [v, j] as const).filter(([, j]) => j !== 3);
    row.sort((a, b) => b[0] - a[0] || a[1] - b[1]);
    expect(sim.items(0)).toEqual(row.slice(0, 4).map(([, j]) => j));
    await expect(m.recommendUsers(['nobody'])).rejects.toBeInstanceOf(InputError);
    await expect(m.recommendItems([[999]])).rejects.toThrow(/unknown item id/);
    await expect(m.recommend(small, { k: 0 })).rejects.toBeInstanceOf(InputError);
    m.dispose();
  });

  test('planted structure: EASE beats popularity on held-out users', async () => {
    const data = syntheticInteractions({ users: 2000, items: 500, seed: 5 });
    const s = holdoutUsers(data, { testUsers: 200, seed: 1 });
    const m = await EASE.fit(s.train, { l2: 100 });
    const r = await evaluate(m, s.test, ['recall@20', 'ndcg@100']);
    expect(r.metrics['recall@20']).toBeGreaterThan(0.25);
    m.dispose();
  });

  test('progress reports every stage in order', async () => {
    const events: ProgressEvent[] = [];
    const m = await EASE.fit(small, { l2: 25, onProgress: (e) => events.push(e) });
    const stages = [...new Set(events.map((e) => e.stage))];
    expect(stages).toEqual(['gram', 'factorize', 'invert', 'weights']);
    for (const e of events) expect(e.fraction).toBeGreaterThanOrEqual(0);
    m.dispose();
  });

  test('the same weights with 1 and 3 threads', async () => {
    const a = await EASE.fit(small, { l2: 25, dtype: 'float64', threads: 1 });
    const b = await EASE.fit(small, { l2: 25, dtype: 'float64', threads: 3 });
    const wa = a.weights();
    const wb = b.weights();
    let worst = 0;
    for (let k = 0; k < wa.length; k++) worst = Math.max(worst, Math.abs(wa[k] - wb[k]));
    expect(worst).toBeLessThan(1e-6);
    a.dispose();
    b.dispose();
  });

  test('abort: before start and while running', async () => {
    const c = new AbortController();
    c.abort();
    await expect(EASE.fit(small, { signal: c.signal })).rejects.toBeInstanceOf(AbortError);
    const big = syntheticInteractions({ users: 3000, items: 2500, seed: 2 });
    const c2 = new AbortController();
    const p = EASE.fit(big, { l2: 50, signal: c2.signal, onProgress: (e) => e.stage === 'gram' && c2.abort() });
    await expect(p).rejects.toMatchObject({ code: 'E_ABORTED' });
  });

  // The factorization and the inversion run as many BLAS calls with the abort flag checked between
  // them, and report progress inside the stage: an abort seen mid-stage stops the fit there.
  test('abort in the middle of the factorization or the inversion rejects with E_ABORTED', async () => {
    const big = syntheticInteractions({ users: 3000, items: 4000, meanInteractions: 30, seed: 4 });
    for (const stage of ['factorize', 'invert']) {
      const c = new AbortController();
      const seen: ProgressEvent[] = [];
      const p = EASE.fit(big, {
        l2: 50,
        threads: 2,
        signal: c.signal,
        onProgress: (e) => {
          seen.push(e);
          if (e.stage === stage && e.fraction > 0 && e.fraction < 1) c.abort();
        },
      });
      await expect(p).rejects.toMatchObject({ code: 'E_ABORTED' });
      const at = seen.findIndex((e) => e.stage === stage && e.fraction > 0 && e.fraction < 1);
      expect(at).toBeGreaterThanOrEqual(0);
      expect(seen.slice(at + 1).some((e) => e.stage === 'weights' || (stage === 'factorize' && e.stage === 'invert'))).toBe(false);
    }
  });

  test('rows with no known items get the most popular training items, filters applied, counted by hand', async () => {
    // item counts: a 3, b 2, c 2, d 1, e 0 (declared, never seen); ties go by index
    const train = Interactions.fromArrays(
      { users: ['u1', 'u1', 'u2', 'u2', 'u3', 'u3', 'u4', 'u4'], items: ['a', 'b', 'a', 'c', 'a', 'b', 'c', 'd'] },
      { itemIds: IdMap.from(['a', 'b', 'c', 'd', 'e']) },
    );
    const m = await EASE.fit(train, { l2: 1 });
    expect(Array.from(m.popularity)).toEqual([3, 2, 2, 1, 0]);
    const r = await m.recommendItems([[], ['a'], []], { k: 4, exclude: [['b'], [], []] });
    expect(r.fallbackRows).toEqual([0, 2]);
    expect(r.items(0)).toEqual(['a', 'c', 'd']); // b excluded, e never seen: fewer than k
    expect(r.scoresOf(0)).toEqual([3, 2, 1]);
    expect(r.items(2)).toEqual(['a', 'b', 'c', 'd']);
    expect(r.items(1)).not.toContain('a'); // a row with items is the model's
    const none = await m.recommendItems([[]], { k: 2, fallback: 'none' });
    expect(none.fallbackRows).toEqual([]);
    await expect(m.recommendItems([[]], { fallback: 'trending' as 'none' })).rejects.toBeInstanceOf(InputError);
    // saved with the model, also without history
    const file = path.join(tmpDir(), 'pop.cfk');
    const lean = await EASE.fit(train, { l2: 1, keepHistory: false });
    await lean.save(file);
    const again = await EASE.load(file);
    expect(Array.from(again.popularity)).toEqual([3, 2, 2, 1, 0]);
    expect((await again.recommendItems([[]], { k: 2 })).items(0)).toEqual(['a', 'b']);
    for (const x of [m, lean, again]) x.dispose();
  });

  test('the event loop keeps running during a fit', async () => {
    const big = syntheticInteractions({ users: 3000, items: 2500, seed: 2 });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const m = await EASE.fit(big, { l2: 50 });
    clearInterval(timer);
    expect(ticks).toBeGreaterThan(3);
    m.dispose();
  });

  test('dispose: idempotent, then every call is E_DISPOSED', async () => {
    const m = await EASE.fit(small, { l2: 25 });
    m[Symbol.dispose]();
    m.dispose();
    expect(m.disposed).toBe(true);
    expect(() => m.weights()).toThrow(DisposedError);
    await expect(m.recommend(small)).rejects.toMatchObject({ code: 'E_DISPOSED' });
    await expect(m.save('/tmp/never.cfk')).rejects.toBeInstanceOf(DisposedError);
  });

  test('dispose while a recommendation is running is safe', async () => {
    const m = await EASE.fit(small, { l2: 25 });
    const p = m.recommend(small, { k: 5 });
    m.dispose();
    const recs = await p;
    expect(recs.rows).toBe(small.numUsers);
  });

  test('bad input: empty matrix, bad l2, singular system', async () => {
    const empty = Interactions.fromArrays({ users: [], items: [] }, { numUsers: 3, numItems: 3 });
    await expect(EASE.fit(empty)).rejects.toBeInstanceOf(InputError);
    await expect(EASE.fit(small, { l2: NaN })).rejects.toBeInstanceOf(InputError);
    await expect(EASE.fit(small, { l2: -1 })).rejects.toBeInstanceOf(InputError);
    await expect(EASE.fit(small, { threads: 0 })).rejects.toBeInstanceOf(InputError);
    const rankDeficient = Interactions.fromArrays({ users: [0, 0, 1], items: [0, 1, 2] }, { numItems: 4 });
    await expect(EASE.fit(rankDeficient, { l2: 0 })).rejects.toBeInstanceOf(NumericError);
  });
});

describe('threads for serving', () => {
  test('a batch of at most SINGLE_THREAD_ROWS rows runs on one thread unless threads is given', async () => {
    const { servingThreads, SINGLE_THREAD_ROWS } = await import('../../lib/models/recommender');
    expect(SINGLE_THREAD_ROWS).toBe(2);
    expect([1, 2, 3, 100].map((rows) => servingThreads(rows, undefined))).toEqual([1, 1, undefined, undefined]);
    expect(servingThreads(1, 4)).toBe(4);
    const m = await EASE.fit(small, { l2: 10 });
    await expect(m.recommendUsers([0], { k: 3, threads: 0 })).rejects.toBeInstanceOf(InputError); // still validated
    expect((await m.recommendUsers([0, 1], { k: 3 })).rows).toBe(2);
    m.dispose();
  });
});
