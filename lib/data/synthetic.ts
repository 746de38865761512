import { InputError } from '../errors';
import { IdMap } from './idmap';
import { Interactions } from './interactions';
import { checkSeed, Rng } from './rng';

export interface SyntheticOptions {
  users?: number;
  items?: number;
  /** Latent clusters of taste; each user and item belongs to one. */
  clusters?: number;
  /** Mean interactions per user (user activity is log-normal, at least 5). */
  meanInteractions?: number;
  /** Zipf exponent of item popularity. */
  popularityExponent?: number;
  /** Probability that an interaction comes from the user's own cluster. */
  affinity?: number;
  seed?: number;
  /**
   * Ratings 1-5 instead of implicit 1s, for rating models (MF): 4 or 5 for items of the user's own
   * cluster, 1 to 3 for the others. The interactions themselves are the same as without it.
   */
  ratings?: boolean;
}

/**
 * Implicit feedback with planted structure: power-law item popularity, log-normal user activity and
 * latent clusters, so a good model measurably beats popularity. Deterministic for a seed.
 */
export function syntheticInteractions(opts: SyntheticOptions = {}): Interactions {
  const nUsers = opts.users ?? 5000;
  const nItems = opts.items ?? 2000;
  const nClusters = opts.clusters ?? 20;
  const mean = opts.meanInteractions ?? 40;
  const alpha = opts.popularityExponent ?? 0.8;
  const affinity = opts.affinity ?? 0.75;
  for (const [k, v] of Object.entries({ users: nUsers, items: nItems, clusters: nClusters }))
    if (!Number.isInteger(v) || v < 1) throw new InputError(`${k} must be a positive integer`);
  if (!(mean >= 1) || !(affinity >= 0 && affinity <= 1) || !(alpha >= 0)) throw new InputError('invalid synthetic options');
  const rng = new Rng(checkSeed(opts.seed, 7));
  const ratingRng = opts.ratings ? new Rng((checkSeed(opts.seed, 7) ^ 0x9e3779b9) >>> 0) : undefined;
  // Popularity rank is a random permutation so popular items spread over clusters.
  const rank = rng.shuffle(Int32Array.from({ length: nItems }, (_, i) => i));
  const weight = new Float64Array(nItems);
  const cluster = new Int32Array(nItems);
  for (let i = 0; i < nItems; i++) {
    weight[i] = 1 / Math.pow(rank[i] + 1, alpha);
    cluster[i] = rng.int(nClusters);
  }
  const cumulative = (members: number[]) => {
    const c = new Float64Array(members.length);
    let s = 0;
    members.forEach((it, k) => (c[k] = s += weight[it]));
    return c;
  };
  const all = Array.from({ length: nItems }, (_, i) => i);
  const allCum = cumulative(all);
  const byCluster = Array.from({ length: nClusters }, () => [] as number[]);
  for (let i = 0; i < nItems; i++) byCluster[cluster[i]].push(i);
  const clusterCum = byCluster.map(cumulative);
  const draw = (members: number[], cum: Float64Array): number => {
    return members[rng.weighted(cum)];
  };
  const users: number[] = [];
  const items: number[] = [];
  const values: number[] = [];
  const sigma = 0.8;
  const mu = Math.log(mean) - (sigma * sigma) / 2;
  const seen = new Set<number>();
  for (let u = 0; u < nUsers; u++) {
    const c = rng.int(nClusters);
    const target = Math.min(Math.floor(nItems / 2), Math.max(5, Math.round(Math.exp(mu + sigma * rng.normal()))));
    seen.clear();
    let attempts = 0;
    while (seen.size < target && attempts++ < target * 20) {
      const own = byCluster[c].length > 0 && rng.next() < affinity;
      const it = own ? draw(byCluster[c], clusterCum[c]) : draw(all, allCum);
      if (seen.has(it)) continue;
      seen.add(it);
      users.push(u);
      items.push(it);
      // A second generator draws the ratings, so the interactions match the implicit data's.
      if (ratingRng) values.push(cluster[it] === c ? 4 + ratingRng.int(2) : 1 + ratingRng.int(3));
    }
  }
  return Interactions.fromArrays({ users, items, ...(ratingRng ? { values } : {}) }, { userIds: IdMap.identity(nUsers), itemIds: IdMap.identity(nItems) });
}
