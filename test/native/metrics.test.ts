import { evaluateScores, IdMap, InputError, Interactions, itemPropensity, parseMetric, ratingErrors } from '../../lib';

const items = IdMap.identity(6);
const rows = (lists: number[][]) =>
  Interactions.fromArrays(
    { users: lists.flatMap((l, u) => l.map(() => u)), items: lists.flat() },
    { userIds: IdMap.identity(lists.length), itemIds: items },
  );

// User 0: input {0}; ranking of the rest by score: 5, 3, 1, 4, 2. Targets {3, 4}.
// User 1: input {}; ranking 0,1,2,3,4,5. Targets {5}.
// User 2: no targets (skipped).
const scores = Float32Array.from([
  [9, 0.5, 0.1, 0.8, 0.3, 0.9],
  [6, 5, 4, 3, 2, 1],
  [1, 1, 1, 1, 1, 1],
].flat());
const set = { inputs: rows([[0], [], [1]]), targets: rows([[3, 4], [5], []]) };

describe('ranking metrics by hand', () => {
  test('recall (both definitions), ndcg, hit, precision, map, auc, coverage', async () => {
    const r = await evaluateScores(scores, set, ['recall@2', 'recall_bars@1', 'ndcg@3', 'hit@1', 'precision@2', 'map@4', 'auc', 'coverage@2', 'hr@2']);
    expect(r.users).toBe(2);
    expect(r.skippedUsers).toBe(1);
    // u0 top2 = [5,3]: 1 hit of min(2,2); u1 top2 = [0,1]: 0 of min(2,1).
    expect(r.metrics['recall@2']).toBeCloseTo((0.5 + 0) / 2, 12);
    expect(r.metrics['hr@2']).toBeCloseTo(r.metrics['recall@2'], 12);
    // BARS @1: u0 top1 = [5] -> 0/2; u1 -> 0/1.
    expect(r.metrics['recall_bars@1']).toBe(0);
    // nDCG@3: u0 hits at rank 2 -> (1/log2 3) / (1 + 1/log2 3); u1: 0.
    const u0 = 1 / Math.log2(3) / (1 + 1 / Math.log2(3));
    expect(r.metrics['ndcg@3']).toBeCloseTo(u0 / 2, 12);
    expect(r.metrics['hit@1']).toBe(0);
    expect(r.metrics['precision@2']).toBeCloseTo((1 / 2 + 0) / 2, 12);
    // MAP@4: u0 hits at ranks 2 and 4 -> (1/2 + 2/4)/2 = 0.5; u1 top4 has no 5 -> 0.
    expect(r.metrics['map@4']).toBeCloseTo(0.25, 12);
    // AUC: u0 positives {3 (0.8), 4 (0.3)} vs negatives {1 (0.5), 2 (0.1), 5 (0.9)}: 3 beats 2 of 3, 4 beats 1 -> 3/6.
    // u1 positive 5 (score 1) beats nothing among 0..4 -> 0.
    expect(r.metrics['auc']).toBeCloseTo((0.5 + 0) / 2, 12);
    // coverage@2 counts every evaluated row's top 2, including users without targets: {5,3} ∪ {0,1} ∪ {0,2}.
    expect(r.metrics['coverage@2']).toBeCloseTo(5 / 6, 12);
    expect(r.stderr['recall@2']).toBeCloseTo(Math.sqrt(((0.25 - 0) ** 2 + (0.25 - 0.5) ** 2) / 2 / 2), 12);
  });

  test('psp@k follows the ∞-AE code, with propensities from training counts', async () => {
    const train = rows([[0, 1], [1], [1, 2]]);
    const w = itemPropensity(train);
    const C = (Math.log(5) - 1) * Math.pow(2.5, 0.55);
    expect(w[1]).toBeCloseTo(1 + C * Math.pow(3 + 1.5, -0.55), 5);
    expect(w[5]).toBeCloseTo(1 + C * Math.pow(1.5, -0.55), 5);
    const r = await evaluateScores(scores, set, ['psp@2'], { train });
    // u0: top2 [5,3], hit 3: (w3 / 2) / (w3 + w4 sorted desc); u1: 0.
    const u0 = w[3] / 2 / (w[3] + w[4]);
    expect(r.metrics['psp@2']).toBeCloseTo(u0 / 2, 6);
  });

  test('masked items never count, even when scores are huge', async () => {
    const s = Float32Array.from([100, 0, 0, 0, 0, 0, 100, 0, 0, 0, 0, 0, 100, 0, 0, 0, 0, 0]);
    const e = { inputs: rows([[0], [0], [0]]), targets: rows([[0], [1], [2]]) };
    const r = await evaluateScores(s, e, ['hit@1', 'recall@5'], { perUser: true });
    // user 0's only target is its own input: it can never be recommended.
    expect(r.perUser!['hit@1'][0]).toBe(0);
    expect(r.metrics['recall@5']).toBeCloseTo(2 / 3, 12);
  });

  test('metric names are validated', () => {
    expect(parseMetric('NDCG@100')).toEqual({ name: 'ndcg@100', kind: 'ndcg', k: 100 });
    expect(() => parseMetric('ndcg')).toThrow(InputError);
    expect(() => parseMetric('auc@5')).toThrow(InputError);
    expect(() => parseMetric('foo@5')).toThrow(/unknown metric/);
    expect(() => parseMetric('recall@0')).toThrow(InputError);
  });

  test('RMSE and MAE', () => {
    const e = ratingErrors([1, 2, 4], [2, 2, 2]);
    expect(e.rmse).toBeCloseTo(Math.sqrt(5 / 3), 12);
    expect(e.mae).toBeCloseTo(1, 12);
    expect(() => ratingErrors([NaN], [1])).toThrow(InputError);
  });

  test('wrong shapes are E_INPUT', async () => {
    await expect(evaluateScores(new Float32Array(3), set, ['recall@2'])).rejects.toBeInstanceOf(InputError);
    await expect(evaluateScores(scores, set, [])).rejects.toBeInstanceOf(InputError);
  });
});
