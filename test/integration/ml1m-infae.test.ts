import * as path from 'node:path';
import { distill, EASE, evalSetFrom, evaluate, IdMap, InfiniteAE, INFINITE_AE_LAMBDAS, Interactions } from '../../lib';
import { describeIfData, sharedData } from '../helpers/data';

// The exact ML-1M split of the ∞-AE paper: validation context = train, test context = train + val.
async function loadInfAeSplit() {
  const dir = path.join(sharedData, 'ml-1m-infae-split');
  const [tr, va, te] = await Promise.all(['train.tsv', 'val.tsv', 'test.tsv'].map((f) => Interactions.fromFile(path.join(dir, f))));
  const items = IdMap.union(tr.itemIds, va.itemIds, te.itemIds);
  const train = tr.alignItems(items).data;
  const users = [...Array.from(train.rowOfEntry(), (u) => train.userIds.id(u)), ...Array.from(va.rowOfEntry(), (u) => va.userIds.id(u))];
  const itemIds = [...Array.from(train.indices, (i) => train.itemIds.id(i)), ...Array.from(va.indices, (i) => va.itemIds.id(i))];
  const trainVal = Interactions.fromArrays({ users, items: itemIds }, { userIds: train.userIds, itemIds: items });
  return { train, validation: evalSetFrom(train, va), test: evalSetFrom(trainVal, te) };
}

describeIfData('ml-1m-infae-split/train.tsv')('∞-AE and EASE on the ∞-AE paper split of ML-1M', () => {
  let split: Awaited<ReturnType<typeof loadInfAeSplit>>;
  beforeAll(async () => {
    split = await loadInfAeSplit();
  });

  test('∞-AE with λ from the paper grid: nDCG@10 ×100 >= 33.0 and HR@10 >= 31.5', async () => {
    expect(split.train.nnz).toBe(791718);
    const m = await InfiniteAE.fit(split.train, { lambdaGrid: INFINITE_AE_LAMBDAS, validation: split.validation });
    const r = await evaluate(m, split.test, ['ndcg@10', 'hr@10']);
    console.log(`∞-AE λ=${m.lambda}: nDCG@10 ${(100 * r.metrics['ndcg@10']).toFixed(2)}, HR@10 ${(100 * r.metrics['hr@10']).toFixed(2)}; fit ${m.info!.seconds.total.toFixed(1)} s for the grid`);
    expect(100 * r.metrics['ndcg@10']).toBeGreaterThanOrEqual(33.0);
    expect(100 * r.metrics['hr@10']).toBeGreaterThanOrEqual(31.5);
    m.dispose();
  }, 240000);

  test('EASE with λ tuned on validation HR@100: nDCG@10 ×100 >= 33.5 (the paper reports an under-tuned 29.88)', async () => {
    let best = { l2: 0, hr: -1 };
    for (const l2 of [200, 500, 1000, 2000]) {
      const m = await EASE.fit(split.train, { l2 });
      const v = await evaluate(m, split.validation, ['hr@100']);
      if (v.metrics['hr@100'] > best.hr) best = { l2, hr: v.metrics['hr@100'] };
      m.dispose();
    }
    const m = await EASE.fit(split.train, { l2: best.l2 });
    const r = await evaluate(m, split.test, ['ndcg@10', 'hr@10']);
    console.log(`EASE λ=${best.l2}: nDCG@10 ${(100 * r.metrics['ndcg@10']).toFixed(2)}, HR@10 ${(100 * r.metrics['hr@10']).toFixed(2)}`);
    expect(100 * r.metrics['ndcg@10']).toBeGreaterThanOrEqual(33.5);
    m.dispose();
  }, 120000);

  // The paper's 500 steps x 200 samples take hours on 2 cores; 100 x 20 already reaches the bar
  // (measured 98.7 %; 50 x 10 gives 92.6 %). About 5 minutes here.
  test('DISTILL-CF: 500 synthetic users train ∞-AE to >= 96 % of full ∞-AE nDCG@10', async () => {
    const full = await InfiniteAE.fit(split.train, { lambdaGrid: INFINITE_AE_LAMBDAS, validation: split.validation, keepHistory: false });
    const fullNdcg = (await evaluate(full, split.test, ['ndcg@10'])).metrics['ndcg@10'];
    full.dispose();
    const d = await distill(split.train, { budget: 500, gumbelSamples: 20, steps: 100, evalEvery: 20, seed: 1, validation: split.validation });
    expect(d.data.numUsers).toBe(500);
    const small = await InfiniteAE.fit(d.data, { lambda: d.lambda, keepHistory: false });
    const ndcg = (await evaluate(small, split.test, ['ndcg@10'])).metrics['ndcg@10'];
    small.dispose();
    console.log(`DISTILL-CF 500 users (λ=${d.lambda}): nDCG@10 ${(100 * ndcg).toFixed(2)} = ${((100 * ndcg) / fullNdcg).toFixed(1)} % of full ∞-AE ${(100 * fullNdcg).toFixed(2)}`);
    expect(ndcg / fullNdcg).toBeGreaterThanOrEqual(0.96);
  }, 900000);
});
