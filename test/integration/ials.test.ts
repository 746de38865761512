// iALS accuracy on the splits the EASE tests use, with hyper-parameters chosen on validation users
// (or validation interactions) only; the searches below are the ones the figures in docs/models.md
// came from. Skips without ../shared/data.
import * as path from 'node:path';
import { evalSetFrom, evaluate, holdoutUsers, ImplicitALS, Interactions, ratingSplit } from '../../lib';
import { describeIfData, sharedData } from '../helpers/data';

type Params = { factors: number; l2: number; unobservedWeight: number };

async function best(grid: Params[], score: (p: Params) => Promise<number>): Promise<Params> {
  let top = { p: grid[0], v: -Infinity };
  for (const p of grid) {
    const v = await score(p);
    console.log(`  validation ${JSON.stringify(p)}: ${v.toFixed(4)}`);
    if (v > top.v) top = { p, v };
  }
  return top.p;
}

describeIfData('ml-1m/ratings_no_ts.dat')('iALS on ML-1M, strong generalization', () => {
  test('test nDCG@100 >= 0.41 and Recall@20 >= 0.34 with λ and k chosen on validation users', async () => {
    const raw = await Interactions.fromFile(path.join(sharedData, 'ml-1m', 'ratings_no_ts.dat'), { implicit: { threshold: 4 } });
    const s = holdoutUsers(raw.dropUsersBelow(5), { testUsers: 600, validationUsers: 600, seed: 42 });
    // α₀ 0.05 and 0.3 were tried too while this was written, and lost to 0.1 at every λ.
    const grid = [64, 128].flatMap((factors) => [0.005, 0.01, 0.02].map((l2) => ({ factors, l2, unobservedWeight: 0.1 })));
    const fit = (p: Params) => ImplicitALS.fit(s.train, { ...p, epochs: 16, cgSteps: 3 });
    const chosen = await best(grid, async (p) => {
      const m = await fit(p);
      const v = (await evaluate(m, s.validation, ['ndcg@100'])).metrics['ndcg@100'];
      m.dispose();
      return v;
    });
    const m = await fit(chosen);
    const t = await evaluate(m, s.test, ['ndcg@100', 'recall@20', 'recall@50']);
    m.dispose();
    console.log(`ML-1M iALS ${JSON.stringify(chosen)}: test nDCG@100 ${t.metrics['ndcg@100'].toFixed(4)}, Recall@20 ${t.metrics['recall@20'].toFixed(4)}, Recall@50 ${t.metrics['recall@50'].toFixed(4)}`);
    expect(t.metrics['ndcg@100']).toBeGreaterThanOrEqual(0.41);
    expect(t.metrics['recall@20']).toBeGreaterThanOrEqual(0.34);
  }, 600_000);
});

describeIfData('gowalla-lightgcn/train.txt')("iALS on Gowalla, LightGCN's test set", () => {
  test('BARS Recall@20 >= 0.170 with k chosen on validation interactions', async () => {
    const train = await Interactions.fromFile(path.join(sharedData, 'gowalla-lightgcn', 'train.txt'));
    const test = await Interactions.fromFile(path.join(sharedData, 'gowalla-lightgcn', 'test.txt'), { numUsers: train.numUsers, numItems: train.numItems });
    // Validation: 20 % of the training interactions held out. At k = 128 and 8 epochs, α₀ ∈ {0.003,
    // 0.01, 0.03} × λ ∈ {3e-4, 1e-3, 3e-3} (and ν 0.5 with λ 0.03 and 0.1) were searched while this
    // was written: α₀ 0.01 with λ 3e-3 was best (validation BARS Recall@20 0.1739; the spread was
    // 0.163-0.174). The factor count matters more, so that is the search kept here.
    const v = ratingSplit(train, { testFraction: 0.2, seed: 42 });
    const validation = evalSetFrom(v.train, v.test.alignItems(v.train.itemIds).data);
    const grid = [128, 256].map((factors) => ({ factors, l2: 0.003, unobservedWeight: 0.01 }));
    const fit = (data: Interactions, p: Params) => ImplicitALS.fit(data, { ...p, epochs: 8, cgSteps: 3 });
    const chosen = await best(grid, async (p) => {
      const m = await fit(v.train, p);
      const r = (await evaluate(m, validation, ['recall_bars@20'])).metrics['recall_bars@20'];
      m.dispose();
      return r;
    });
    const m = await fit(train, chosen);
    const t = await evaluate(m, evalSetFrom(train, test), ['recall_bars@20', 'ndcg@20']);
    m.dispose();
    console.log(`Gowalla iALS ${JSON.stringify(chosen)}: test BARS Recall@20 ${t.metrics['recall_bars@20'].toFixed(4)}, nDCG@20 ${t.metrics['ndcg@20'].toFixed(4)}`);
    expect(t.metrics['recall_bars@20']).toBeGreaterThanOrEqual(0.17);
  }, 900_000);
});
