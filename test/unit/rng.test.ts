import { Rng } from '../../lib';

describe('Rng', () => {
  test('weighted() draws indices in proportion to their weights and never a zero-weight one', () => {
    const rng = new Rng(3);
    const cumulative = [1, 1, 4, 10]; // weights 1, 0, 3, 6
    const counts = [0, 0, 0, 0];
    const n = 20000;
    for (let t = 0; t < n; t++) counts[rng.weighted(cumulative)]++;
    expect(counts[1]).toBe(0);
    expect(counts[0] / n).toBeCloseTo(0.1, 1);
    expect(counts[2] / n).toBeCloseTo(0.3, 1);
    expect(counts[3] / n).toBeCloseTo(0.6, 1);
  });
});
