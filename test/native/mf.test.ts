import * as path from 'node:path';
import { AbortError, backendInfo, DeviceError, InputError, Interactions, load, MatrixFactorization, ProgressEvent } from '../../lib';
import { tmpDir } from '../helpers/data';
import { lowRank } from '../helpers/ratings';

const opts = { factors: 16, epochs: 60, lr: { alpha: 0.02, beta: 0.01 }, l2: 0.01, init: { std: 0.3 } };

describe('MatrixFactorization', () => {
  const { train, test: heldOut } = lowRank(5);

  test('recovers known low-rank factors; progress reports every epoch', async () => {
    const events: ProgressEvent[] = [];
    const m = await MatrixFactorization.fit(train, { ...opts, validation: heldOut, onProgress: (e) => events.push(e) });
    expect(m.rmse(heldOut).rmse).toBeLessThan(0.25);
    const epochs = events.filter((e) => e.stage === 'epoch');
    expect(epochs).toHaveLength(60);
    expect(epochs[59].epoch).toBe(60);
    expect(epochs[59].validRmse).toBeCloseTo(m.rmse(heldOut).rmse, 4);
    expect(epochs[59].trainRmse).toBeLessThan(epochs[0].trainRmse!);
    m.dispose();
  });

  // The threads of an epoch work as one team with a barrier between waves of blocks: an abort must
  // release all of them (mid-epoch or between epochs), never leave one waiting.
  test('abort stops a multi-threaded fit with E_ABORTED', async () => {
    const before = new AbortController();
    before.abort();
    await expect(MatrixFactorization.fit(train, { ...opts, signal: before.signal })).rejects.toBeInstanceOf(AbortError);
    const during = new AbortController();
    const fit = MatrixFactorization.fit(train, { ...opts, epochs: 100000, threads: 2, signal: during.signal, onProgress: () => during.abort() });
    await expect(fit).rejects.toMatchObject({ code: 'E_ABORTED' });
  });

  test('one thread and a fixed seed reproduce exactly; pruning rate 0 is bit-identical', async () => {
    const a = await MatrixFactorization.fit(train, { ...opts, epochs: 6, threads: 1, seed: 9 });
    const b = await MatrixFactorization.fit(train, { ...opts, epochs: 6, threads: 1, seed: 9 });
    const c = await MatrixFactorization.fit(train, { ...opts, epochs: 6, threads: 1, seed: 9, pruning: { rate: 0, rearrangeEvery: 2 } });
    const pa = a.predict([1, 2, 3], [4, 5, 6]);
    expect(Array.from(b.predict([1, 2, 3], [4, 5, 6]))).toEqual(Array.from(pa));
    expect(Array.from(c.predict([1, 2, 3], [4, 5, 6]))).toEqual(Array.from(pa));
    for (const m of [a, b, c]) m.dispose();
  });

  test('the block grid is a choice: factors do not depend on the thread count, and any grid fits', async () => {
    const one = await MatrixFactorization.fit(train, { ...opts, epochs: 8, blocks: 6, threads: 1 });
    const two = await MatrixFactorization.fit(train, { ...opts, epochs: 8, blocks: 6, threads: 2 });
    expect(Array.from(two.predict([1, 2, 3], [4, 5, 6]))).toEqual(Array.from(one.predict([1, 2, 3], [4, 5, 6])));
    const single = await MatrixFactorization.fit(train, { ...opts, blocks: 1 });
    expect(single.rmse(heldOut).rmse).toBeLessThan(0.25);
    for (const m of [one, two, single]) m.dispose();
    await expect(MatrixFactorization.fit(train, { blocks: 0 })).rejects.toBeInstanceOf(InputError);
    await expect(MatrixFactorization.fit(train, { blocks: 2.5 })).rejects.toBeInstanceOf(InputError);
  });

  test('fp16, MASCOT and pruning train to a good fit', async () => {
    const fp32 = await MatrixFactorization.fit(train, opts);
    const base = fp32.rmse(heldOut).rmse;
    for (const precision of ['fp16', 'mascot'] as const) {
      const m = await MatrixFactorization.fit(train, { ...opts, precision, mascot: { groups: 5, interval: 1 } });
      expect(m.rmse(heldOut).rmse).toBeLessThan(base + 0.02);
      if (precision === 'mascot') expect(m.info!.groupsTotal).toBe(10);
      m.dispose();
    }
    const pruned = await MatrixFactorization.fit(train, { ...opts, factors: 64, pruning: { rate: 0.3, rearrangeEvery: 5 } });
    expect(pruned.info!.epochs.at(-1)!.activeFactors).toBeLessThan(64);
    expect(pruned.rmse(heldOut).rmse).toBeLessThan(0.5);
    fp32.dispose();
    pruned.dispose();
  });

  test('recommends for known users by their vectors and for new users by fold-in; save and load', async () => {
    const m = await MatrixFactorization.fit(train, opts);
    const known = await m.recommendUsers([7], { k: 5 });
    const own = new Set(Array.from(train.row(7).items));
    for (const it of known.items(0)) expect(own.has(it as number)).toBe(false);
    // Known-user scores are p_u·q_i.
    const pred = m.predict([7, 7], known.items(0).slice(0, 2));
    expect(known.scoresOf(0)[0]).toBeCloseTo(pred[0], 4);
    // A new user with the same ratings as user 7 folds in to a similar ranking.
    const folded = await m.recommend(train.selectUsers([7]), { k: 5 });
    expect(folded.items(0).filter((i) => known.items(0).includes(i)).length).toBeGreaterThanOrEqual(2);
    const file = path.join(tmpDir(), 'mf.cfk');
    await m.save(file);
    const again = (await load(file)) as MatrixFactorization;
    expect(Array.from(again.predict([7], [3]))).toEqual(Array.from(m.predict([7], [3])));
    expect((await again.recommendUsers([7], { k: 5 })).toArray()).toEqual(known.toArray());
    m.dispose();
    again.dispose();
  });

  test('userFactors and itemFactors give P and Q with their ids, and p·q + μ is the prediction', async () => {
    const m = await MatrixFactorization.fit(train, { ...opts, epochs: 10 });
    const users = m.userFactors(), items = m.itemFactors();
    expect(users.dimensions).toBe(16);
    expect(users.ids).toEqual(train.userIds.toArray());
    expect(items.ids).toEqual(train.itemIds.toArray());
    expect(users.factors).toHaveLength(train.numUsers * 16);
    expect(items.factors).toHaveLength(train.numItems * 16);
    const [u, i] = [7, 11];
    let dot = 0;
    for (let d = 0; d < 16; d++) dot += users.factors[u * 16 + d] * items.factors[i * 16 + d];
    expect(m.predict([users.ids[u]], [items.ids[i]])[0]).toBeCloseTo(dot + m.info!.mean, 4);
    m.dispose();
  });

  test('data whose ratings are all equal looks implicit: E_INPUT pointing to EASE or SANSA', async () => {
    const implicit = Interactions.fromArrays({ users: [0, 0, 1, 2], items: [0, 1, 1, 2], values: [1, 1, 1, 1] });
    await expect(MatrixFactorization.fit(implicit, opts)).rejects.toThrow(/looks implicit.*EASE or SANSA/);
    await expect(MatrixFactorization.fit(implicit, opts)).rejects.toBeInstanceOf(InputError);
  });

  test('bad input is E_INPUT; devices are explicit', async () => {
    await expect(MatrixFactorization.fit(train, { factors: 0 })).rejects.toBeInstanceOf(InputError);
    await expect(MatrixFactorization.fit(train, { precision: 'fp8' as never })).rejects.toBeInstanceOf(InputError);
    await expect(MatrixFactorization.fit(train, { pruning: { rate: 1 } })).rejects.toBeInstanceOf(InputError);
    const m = await MatrixFactorization.fit(train, { ...opts, epochs: 1 });
    expect(() => m.predict(['nobody'], [1])).toThrow(InputError);
    m.dispose();
    if (backendInfo().device === 'cpu') await expect(MatrixFactorization.fit(train, { device: 'cuda' })).rejects.toBeInstanceOf(DeviceError);
  });
});
