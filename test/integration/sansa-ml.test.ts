import * as path from 'node:path';
import { EASE, evaluate, holdoutUsers, Interactions, SANSA } from '../../lib';
import { describeIfData, sharedData } from '../helpers/data';

describeIfData('ml-100k/u.data')('SANSA on ML-100K', () => {
  test('full density, no sparsification: scores equal dense EASE on non-input items (< 1e-4)', async () => {
    const x = await Interactions.fromFile(path.join(sharedData, 'ml-100k', 'u.data'), { implicit: { threshold: 4 } });
    const ease = await EASE.fit(x, { l2: 100, dtype: 'float64' });
    const sansa = await SANSA.fit(x, { factorizer: 'cholmod', l2: 100, density: 1, inverse: 'exact' });
    const a = await ease.score(x);
    const b = await sansa.score(x);
    const n = x.numItems;
    let worst = 0;
    for (let u = 0; u < x.numUsers; u++) {
      const own = new Set(x.row(u).items);
      for (let c = 0; c < n; c++) if (!own.has(c)) worst = Math.max(worst, Math.abs(a[u * n + c] - b[u * n + c]));
    }
    console.log(`ML-100K SANSA vs EASE, max |Δscore| off inputs: ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(1e-4);
    ease.dispose();
    sansa.dispose();
  });
});

describeIfData('ml-1m/ratings_no_ts.dat')('SANSA on ML-1M (strong generalization)', () => {
  test('Recall@20 rises with density toward EASE and is within 0.015 of it at density 0.05', async () => {
    const raw = await Interactions.fromFile(path.join(sharedData, 'ml-1m', 'ratings_no_ts.dat'), { implicit: { threshold: 4 } });
    const s = holdoutUsers(raw.dropUsersBelow(5), { testUsers: 600, validationUsers: 600, seed: 42 });
    const ease = await EASE.fit(s.train, { l2: 500 });
    const easeR = (await evaluate(ease, s.test, ['recall@20'])).metrics['recall@20'];
    ease.dispose();
    const recall: number[] = [];
    for (const density of [0.002, 0.01, 0.05]) {
      const m = await SANSA.fit(s.train, { factorizer: 'cholmod', l2: 500, density, umr: { scans: 1, finetune: 10 } });
      recall.push((await evaluate(m, s.test, ['recall@20'])).metrics['recall@20']);
      m.dispose();
    }
    console.log(`ML-1M R@20: EASE ${easeR.toFixed(4)}; SANSA at 0.002/0.01/0.05: ${recall.map((r) => r.toFixed(4)).join(' / ')}`);
    expect(recall[1]).toBeGreaterThan(recall[0]);
    expect(recall[2]).toBeGreaterThan(recall[1]);
    expect(easeR - recall[2]).toBeLessThanOrEqual(0.015);
  }, 120000);
});
