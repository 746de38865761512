import * as path from 'node:path';
import { Interactions, MatrixFactorization, ratingSplit } from '../../lib';
import { describeIfData, sharedData } from '../helpers/data';

// ML-1M, seeded 90/10 rating split, k = 128 (the target: fp32 <= 0.835, as LIBMF). Measured
// here on this split: fp32 test RMSE 0.8334 after 40 epochs, MASCOT 0.8327, pruning at rate 0.3
// 0.8350 (+0.2 %). Other splits of the same size spread by about ±0.004 (0.8322-0.8407 over 8 seeds),
// so the bound holds for this split, not for every split.
describeIfData('ml-1m/ratings_no_ts.dat')('MF on ML-1M (90/10 ratings)', () => {
  test('fp32 RMSE <= 0.835; MASCOT within +0.002 of fp32; pruning 0.3 within +3 %', async () => {
    const raw = await Interactions.fromFile(path.join(sharedData, 'ml-1m', 'ratings_no_ts.dat'));
    const { train, test } = ratingSplit(raw, { testFraction: 0.1, seed: 42 });
    const fit = async (extra: object) => {
      const m = await MatrixFactorization.fit(train, { factors: 128, epochs: 40, ...extra });
      const r = m.rmse(test).rmse;
      m.dispose();
      return r;
    };
    const fp32 = await fit({});
    const mascot = await fit({ precision: 'mascot' });
    const pruned = await fit({ pruning: { rate: 0.3 } });
    console.log(`ML-1M MF k=128, 40 epochs: fp32 ${fp32.toFixed(4)}, MASCOT ${mascot.toFixed(4)}, pruned(0.3) ${pruned.toFixed(4)}`);
    expect(fp32).toBeLessThanOrEqual(0.835);
    expect(mascot).toBeLessThanOrEqual(fp32 + 0.002);
    expect(pruned).toBeLessThanOrEqual(fp32 * 1.03);
  }, 180000);
});
