import * as path from 'node:path';
import { EASE, evaluate, holdoutUsers, Interactions } from '../../lib';
import { describeIfData, sharedData } from '../helpers/data';

// ML-1M binarized (rating >= 4), users with >= 5 positives, strong generalization with 600
// validation and 600 test users. Reference dense EASE (λ = 500): Recall@20 0.351, nDCG@100 0.419.
describeIfData('ml-1m/ratings_no_ts.dat')('EASE on ML-1M (strong generalization)', () => {
  test('λ tuned on validation reaches nDCG@100 >= 0.40 and Recall@20 >= 0.33 on test', async () => {
    const raw = await Interactions.fromFile(path.join(sharedData, 'ml-1m', 'ratings_no_ts.dat'), { implicit: { threshold: 4 } });
    expect(raw.numUsers).toBe(6040);
    const data = raw.dropUsersBelow(5);
    const s = holdoutUsers(data, { testUsers: 600, validationUsers: 600, seed: 42 });
    let best = { l2: 0, ndcg: -1 };
    for (const l2 of [100, 250, 500, 1000]) {
      const m = await EASE.fit(s.train, { l2 });
      const v = await evaluate(m, s.validation, ['ndcg@100']);
      if (v.metrics['ndcg@100'] > best.ndcg) best = { l2, ndcg: v.metrics['ndcg@100'] };
      m.dispose();
    }
    const m = await EASE.fit(s.train, { l2: best.l2 });
    const t = await evaluate(m, s.test, ['ndcg@100', 'recall@20', 'recall@50']);
    m.dispose();
    // Printed so the figures appear in CI logs next to the assertion.
    console.log(`ML-1M EASE λ=${best.l2}: test nDCG@100 ${t.metrics['ndcg@100'].toFixed(4)}, Recall@20 ${t.metrics['recall@20'].toFixed(4)}`);
    expect(t.users).toBe(600);
    expect(t.metrics['ndcg@100']).toBeGreaterThanOrEqual(0.4);
    expect(t.metrics['recall@20']).toBeGreaterThanOrEqual(0.33);
  });
});
