import { createHook } from 'node:async_hooks';
import { loopBusy } from '../../lib/models/inline-policy';
import { EASE, IdMap, MatrixFactorization, SANSA, InputError, Interactions, ItemFilter, load, syntheticInteractions } from '../../lib';
import * as path from 'node:path';
import { tmpDir } from '../helpers/data';

// Filters and the unknown-id policy, checked against the model's own unfiltered ranking: the
// filtered top k must be the full ranking's first k items that pass.
const raw = syntheticInteractions({ users: 400, items: 50, meanInteractions: 8, clusters: 4, seed: 31 });
const data = Interactions.fromArrays(
  { users: Array.from(raw.rowOfEntry(), (u) => `u${u}`), items: Array.from(raw.indices, (i) => `i${i}`) },
  { itemIds: IdMap.from(Array.from({ length: 50 }, (_, i) => `i${i}`)) },
);

describe('serving filters and unknown ids', () => {
  let model: EASE;
  beforeAll(async () => {
    model = await EASE.fit(data, { l2: 20 });
  });
  afterAll(() => model.dispose());

  const full = async (lists: string[][]) => (await model.recommendItems(lists, { k: 50 })).toArray();
  const firstPassing = (row: { items: (string | number)[]; scores: number[] }, keep: (id: string, score: number) => boolean, k: number) =>
    row.items.filter((id, j) => keep(String(id), row.scores[j])).slice(0, k);

  test('include (one list, per-row lists, an ItemFilter) keeps the ranking among the candidates, k of them', async () => {
    const lists = [['i1', 'i2'], ['i7']];
    const ranked = await full(lists);
    const shared = ['i3', 'i5', 'i8', 'i13', 'i21', 'i34', 'i1'];
    const r1 = await model.recommendItems(lists, { k: 3, include: shared });
    for (let r = 0; r < 2; r++) expect(r1.items(r)).toEqual(firstPassing(ranked[r], (id) => shared.includes(id), 3));
    expect(r1.items(0)).toHaveLength(3);
    const perRow = [['i10', 'i11', 'i12', 'i13'], ['i40', 'i41']];
    const r2 = await model.recommendItems(lists, { k: 3, include: perRow });
    for (let r = 0; r < 2; r++) expect(r2.items(r)).toEqual(firstPassing(ranked[r], (id) => perRow[r].includes(id), 3));
    expect(r2.items(1)).toHaveLength(2); // only two candidates
    const even = ItemFilter.fromPredicate(model, (id) => Number(String(id).slice(1)) % 2 === 0);
    expect(even.size).toBe(25);
    const r3 = await model.recommendItems(lists, { k: 4, include: even });
    for (let r = 0; r < 2; r++) expect(r3.items(r)).toEqual(firstPassing(ranked[r], (id) => Number(id.slice(1)) % 2 === 0, 4));
  });

  test('exclude by ItemFilter and minScore drop items; a row still gets k when k candidates pass', async () => {
    const lists = [['i4', 'i9']];
    const [ranked] = await full(lists);
    const block = ItemFilter.fromIds(model, ranked.items.slice(0, 5) as string[]);
    const r = await model.recommendItems(lists, { k: 6, exclude: block });
    expect(r.items(0)).toEqual(ranked.items.slice(5, 11));
    const least = ranked.scores[7];
    const m = await model.recommendItems(lists, { k: 20, minScore: least });
    expect(m.items(0)).toEqual(firstPassing(ranked, (_, s) => s >= least, 20));
    expect(m.scoresOf(0).every((s) => s >= least)).toBe(true);
  });

  test("unknown ids: 'error' names the first and its position; 'ignore' drops them and says so", async () => {
    await expect(model.recommendItems([['i1']], { exclude: ['i2', 'nope'] })).rejects.toThrow(/unknown item id "nope" at exclude\[1\]/);
    await expect(model.recommendItems([['i1', 'zzz']])).rejects.toThrow(/unknown item id "zzz" at itemLists\[0\]\[1\]/);
    await expect(model.recommendUsers(['u1', 'ghost'])).rejects.toThrow(/unknown user id "ghost" at users\[1\]/);
    await expect(model.similarItems(['i1', 'x'])).rejects.toThrow(/unknown item id "x" at items\[1\]/);
    const known = await model.recommendUsers(['u1'], { k: 5, exclude: ['i2'] });
    const r = await model.recommendUsers(['u1', 'ghost'], { k: 5, exclude: ['i2', 'nope', 'nada'], unknown: 'ignore' });
    expect(r.items(0)).toEqual(known.items(0));
    expect(r.unknownRows).toEqual([1]);
    expect(r.unknownIds).toBe(2);
    // the unknown user is served as a visitor with no history: the most popular items, filters applied
    const visitor = await model.recommendItems([[]], { k: 5, exclude: ['i2'] });
    expect(r.items(1)).toEqual(visitor.items(0));
    expect(r.fallbackRows).toEqual([1]);
    const none = await model.recommendUsers(['u1', 'ghost'], { k: 5, exclude: ['i2'], unknown: 'ignore', fallback: 'none' });
    expect(none.items(0)).toEqual(known.items(0));
    expect(none.items(1)).toEqual([]); // nothing to go on and no fallback: an empty row
    expect(none.fallbackRows).toEqual([]);
    const items = await model.recommendItems([['i1', 'zzz']], { k: 5, unknown: 'ignore' });
    expect(items.items(0)).toEqual((await model.recommendItems([['i1']], { k: 5 })).items(0));
    expect(items.unknownIds).toBe(1);
    const similar = await model.similarItems(['i1', 'x'], { k: 3, unknown: 'ignore' });
    expect(similar.unknownRows).toEqual([1]);
    expect(similar.items(1)).toEqual(visitor.items(0).slice(0, 3));
  });

  test('an ItemFilter built for an equal copy of the item space works; one for another space is E_INPUT', async () => {
    const file = path.join(tmpDir(), 'm.cfk');
    await model.save(file);
    const again = await load(file);
    const f = ItemFilter.fromIds(model, ['i1', 'i2', 'i3']);
    expect((await again.recommendItems([['i9']], { k: 3, include: f })).items(0).sort()).toEqual(['i1', 'i2', 'i3']);
    const other = ItemFilter.fromIds(IdMap.from(['a', 'b']), ['a']);
    await expect(model.recommendItems([['i9']], { include: other })).rejects.toThrow(/another item space/);
    again.dispose();
  });

  test('bad options are E_INPUT', async () => {
    await expect(model.recommendItems([['i1']], { unknown: 'maybe' as 'ignore' })).rejects.toBeInstanceOf(InputError);
    await expect(model.recommendItems([['i1']], { minScore: NaN })).rejects.toBeInstanceOf(InputError);
    await expect(model.recommendItems([['i1']], { include: 'i1' as unknown as string[] })).rejects.toBeInstanceOf(InputError);
    await expect(model.recommendItems([['i1'], ['i2']], { include: [['i1']] })).rejects.toThrow(/include has 1 rows/);
    expect(() => ItemFilter.fromIds(model, ['i1', 'missing'])).toThrow(/unknown item id "missing" at ids\[1\]/);
    expect(ItemFilter.fromIds(model, ['i1', 'missing'], { unknown: 'ignore' }).unknownIds).toBe(1);
  });
});

describe('small serving calls run on the calling thread', () => {
  // Worker-thread calls are async resources named after the native call; inline ones create none.
  const workers: string[] = [];
  const hook = createHook({ init: (_id, type) => void (type.startsWith('cfkit.') && workers.push(type)) });
  // The inline policy judges the event loop by the window since its last look (at least 20 ms):
  // close the current window, whatever it held, then leave the loop idle for a whole one.
  const pause = () => new Promise((resolve) => setTimeout(resolve, 30));
  const idle = async () => {
    await pause();
    loopBusy();
    await pause();
  };
  const counted = async <T>(call: () => Promise<T>): Promise<{ result: T; workers: string[] }> => {
    await idle();
    workers.length = 0;
    hook.enable();
    try {
      const result = await call();
      return { result, workers: [...workers] };
    } finally {
      hook.disable();
    }
  };

  test('one or two rows on SANSA and EASE run inline and return what a worker thread returns', async () => {
    const sansa = await SANSA.fit(data, { l2: 20, density: 0.2 });
    const ease = await EASE.fit(data, { l2: 20 });
    try {
      for (const model of [sansa, ease]) {
        const users = ['u1', 'u7'];
        const inline = await counted(() => model.recommendUsers(users, { k: 5 }));
        const pooled = await counted(() => model.recommendUsers(users, { k: 5, inline: 'never' }));
        expect(inline.workers).toEqual([]);
        expect(pooled.workers).toEqual(['cfkit.recommend']);
        expect(inline.result.toArray()).toEqual(pooled.result.toArray());
        const similar = await counted(() => model.similarItems(['i3'], { k: 4 }));
        expect(similar.workers).toEqual([]);
        expect(similar.result.toArray()).toEqual((await model.similarItems(['i3'], { k: 4, inline: 'never' })).toArray());
        // Three rows, or threads asked for, go to a worker thread.
        expect((await counted(() => model.recommendUsers(['u1', 'u2', 'u3'], { k: 5 }))).workers).toEqual(['cfkit.recommend']);
        expect((await counted(() => model.recommendUsers(['u1'], { k: 5, threads: 2 }))).workers).toEqual(['cfkit.recommend']);
      }
      await expect(sansa.recommendUsers(['u1'], { inline: 'always' as 'never' })).rejects.toThrow(/inline must be 'auto' or 'never'/);
    } finally {
      sansa.dispose();
      ease.dispose();
    }
  });

  test('a loop busy with other work sends calls to worker threads until it is idle again', async () => {
    const sansa = await SANSA.fit(data, { l2: 20, density: 0.2 });
    try {
      await idle();
      await sansa.recommendUsers(['u1']); // opens a new 20 ms window
      const spinUntil = performance.now() + 30;
      while (performance.now() < spinUntil); // other work: the whole window
      workers.length = 0;
      hook.enable();
      await sansa.recommendUsers(['u1']);
      await sansa.recommendUsers(['u2']); // the same window: still busy
      hook.disable();
      expect(workers).toEqual(['cfkit.recommend', 'cfkit.recommend']);
      expect((await counted(() => sansa.recommendUsers(['u1']))).workers).toEqual([]);
    } finally {
      sansa.dispose();
    }
  });

  test('models that cannot estimate their work (MF) always use a worker thread', async () => {
    const mf = await MatrixFactorization.fit(Interactions.fromArrays({ users: [0, 0, 1, 2], items: [0, 1, 1, 2], values: [5, 3, 4, 1] }), { factors: 4, epochs: 2, seed: 1 });
    try {
      expect((await counted(() => mf.recommendUsers([0], { k: 2 }))).workers).toEqual(['cfkit.recommend']);
    } finally {
      mf.dispose();
    }
  });
});
