import { IdMap, Interactions, Rng } from '../../lib';

/** Ratings 3 + p·q + small noise from known rank-3 factors, split into train and test. */
export function lowRank(seed: number) {
  const rng = new Rng(seed);
  const U = 300;
  const I = 150;
  const r = 3;
  const p = Array.from({ length: U * r }, () => rng.normal() * 0.7);
  const q = Array.from({ length: I * r }, () => rng.normal() * 0.7);
  const tr = { users: [] as number[], items: [] as number[], values: [] as number[] };
  const te = { users: [] as number[], items: [] as number[], values: [] as number[] };
  for (let u = 0; u < U; u++)
    for (let i = 0; i < I; i++) {
      const coin = rng.next();
      if (coin > 0.4) continue;
      let v = 3;
      for (let d = 0; d < r; d++) v += p[u * r + d] * q[i * r + d];
      v += 0.05 * rng.normal();
      const dst = coin < 0.35 ? tr : te;
      dst.users.push(u);
      dst.items.push(i);
      dst.values.push(v);
    }
  const ids = { userIds: IdMap.identity(U), itemIds: IdMap.identity(I) };
  return { train: Interactions.fromArrays(tr, ids), test: Interactions.fromArrays(te, ids) };
}
