/**
 * Seeded, reproducible splits. Ranking splits produce EvalSets: rows are users, `inputs` is what the
 * model sees (its items are masked in the ranking) and `targets` what it should find.
 */
import { InputError } from '../errors';
import { IdMap } from './idmap';
import { Interactions } from './interactions';
import { checkSeed, Rng } from './rng';

export interface EvalSet {
  inputs: Interactions;
  targets: Interactions;
  /** Training-user index of each row, when the rows are users the model was trained on. */
  users?: Int32Array;
}

export interface StrongGeneralizationSplit {
  train: Interactions;
  validation: EvalSet;
  test: EvalSet;
}

export interface HoldoutUsersOptions {
  testUsers: number;
  validationUsers?: number;
  /** Share of each held-out user's items that become targets, floor(fraction · n_u). Default 0.2. */
  targetFraction?: number;
  /** Held-out users with fewer interactions keep them all as input and have no targets. Default 5. */
  minInteractions?: number;
  seed?: number;
}

/**
 * Strong generalization (Liang et al. 2018): users are permuted; the first `testUsers` and the next
 * `validationUsers` are held out and the model trains on the rest. The item space becomes the items
 * seen in training (held-out interactions with other items are dropped). Each held-out user's items
 * are split at random into fold-in inputs and floor(targetFraction · n_u) targets.
 */
export function holdoutUsers(data: Interactions, opts: HoldoutUsersOptions): StrongGeneralizationSplit {
  const nTest = opts.testUsers;
  const nVal = opts.validationUsers ?? 0;
  const frac = opts.targetFraction ?? 0.2;
  const minInter = opts.minInteractions ?? 5;
  if (!Number.isInteger(nTest) || nTest < 1) throw new InputError('testUsers must be a positive integer');
  if (!Number.isInteger(nVal) || nVal < 0) throw new InputError('validationUsers must be a non-negative integer');
  if (!(frac > 0 && frac < 1)) throw new InputError('targetFraction must be in (0, 1)');
  if (nTest + nVal >= data.numUsers) throw new InputError(`cannot hold out ${nTest + nVal} of ${data.numUsers} users`);
  const rng = new Rng(checkSeed(opts.seed));
  const perm = rng.shuffle(Int32Array.from({ length: data.numUsers }, (_, i) => i));
  const testRows = perm.subarray(0, nTest);
  const valRows = perm.subarray(nTest, nTest + nVal);
  const trainRows = perm.subarray(nTest + nVal).slice().sort();
  const trainAll = data.selectUsers(trainRows);
  // Restrict the item space to items seen in training.
  const counts = trainAll.itemCounts();
  const seen: number[] = [];
  counts.forEach((c, i) => {
    if (c > 0) seen.push(i);
  });
  const itemIds = data.itemIds.subset(seen);
  const train = trainAll.alignItems(itemIds).data;
  const heldOut = (rows: Int32Array): EvalSet => {
    const part = data.selectUsers(rows).alignItems(itemIds).data;
    const isTarget = new Uint8Array(part.nnz);
    for (let u = 0; u < part.numUsers; u++) {
      const b = part.indptr[u];
      const n = part.indptr[u + 1] - b;
      if (n < minInter) continue;
      const order = rng.shuffle(Int32Array.from({ length: n }, (_, i) => i));
      const nTargets = Math.floor(frac * n);
      for (let k = 0; k < nTargets; k++) isTarget[b + order[k]] = 1;
    }
    return {
      inputs: part.filterEntries((_u, _i, _v, p) => isTarget[p] === 0),
      targets: part.filterEntries((_u, _i, _v, p) => isTarget[p] === 1),
    };
  };
  return { train, validation: heldOut(valRows), test: heldOut(testRows) };
}

export interface WeakGeneralizationSplit {
  train: Interactions;
  /** inputs = train, targets = validation items. */
  validation: EvalSet;
  /** inputs = train + validation, targets = test items. */
  test: EvalSet;
}

export interface PerUserOptions {
  /** [train, validation, test] shares of each user's items. Default [0.8, 0.1, 0.1]. */
  fractions?: [number, number, number];
  /** Users with fewer interactions are removed first. Default 3. */
  minInteractions?: number;
  seed?: number;
}

/**
 * Weak generalization as in ∞-AE: each user's items are shuffled; the first 80 % train, the next
 * 10 % validation, the rest test, with at least one test item per user. Every user is in every part.
 */
export function perUserFractions(data: Interactions, opts: PerUserOptions = {}): WeakGeneralizationSplit {
  const [ft, fv, fs] = opts.fractions ?? [0.8, 0.1, 0.1];
  if ([ft, fv, fs].some((f) => !(f >= 0)) || Math.abs(ft + fv + fs - 1) > 1e-9 || fs <= 0)
    throw new InputError('fractions must be three non-negative shares summing to 1, with a positive test share');
  const d = data.dropUsersBelow(opts.minInteractions ?? 3);
  const rng = new Rng(checkSeed(opts.seed));
  const part = new Uint8Array(d.nnz); // 0 train, 1 validation, 2 test
  for (let u = 0; u < d.numUsers; u++) {
    const b = d.indptr[u];
    const n = d.indptr[u + 1] - b;
    if (n === 0) continue;
    const order = rng.shuffle(Int32Array.from({ length: n }, (_, i) => i));
    let nTrain = Math.floor(ft * n);
    let nVal = Math.floor((ft + fv) * n) - nTrain;
    if (nTrain + nVal >= n) {
      if (nVal > 0) nVal--;
      else nTrain--;
    }
    for (let k = 0; k < n; k++) part[b + order[k]] = k < nTrain ? 0 : k < nTrain + nVal ? 1 : 2;
  }
  const train = d.filterEntries((_u, _i, _v, p) => part[p] === 0);
  const val = d.filterEntries((_u, _i, _v, p) => part[p] === 1);
  const test = d.filterEntries((_u, _i, _v, p) => part[p] === 2);
  const trainVal = d.filterEntries((_u, _i, _v, p) => part[p] !== 2);
  const users = Int32Array.from({ length: d.numUsers }, (_, i) => i);
  return { train, validation: { inputs: train, targets: val, users }, test: { inputs: trainVal, targets: test, users } };
}

export interface LeaveKOutOptions {
  k?: number;
  /** 'random' (default) or 'latest' (needs timestamps). */
  by?: 'random' | 'latest';
  seed?: number;
}

/** Holds out k items per user with more than k interactions (random or most recent) as targets. */
export function leaveKOut(data: Interactions, opts: LeaveKOutOptions = {}): { train: Interactions; test: EvalSet } {
  const k = opts.k ?? 1;
  if (!Number.isInteger(k) || k < 1) throw new InputError('k must be a positive integer');
  const by = opts.by ?? 'random';
  if (by === 'latest' && !data.timestamps) throw new InputError("leaveKOut by 'latest' needs timestamps");
  const rng = new Rng(checkSeed(opts.seed));
  const held = new Uint8Array(data.nnz);
  for (let u = 0; u < data.numUsers; u++) {
    const b = data.indptr[u];
    const n = data.indptr[u + 1] - b;
    if (n <= k) continue;
    let order: Int32Array;
    if (by === 'latest') {
      const ts = data.timestamps!;
      order = Int32Array.from({ length: n }, (_, i) => i).sort((x, y) => ts[b + y] - ts[b + x] || y - x);
    } else order = rng.shuffle(Int32Array.from({ length: n }, (_, i) => i));
    for (let j = 0; j < k; j++) held[b + order[j]] = 1;
  }
  const train = data.filterEntries((_u, _i, _v, p) => held[p] === 0);
  const targets = data.filterEntries((_u, _i, _v, p) => held[p] === 1);
  return { train, test: { inputs: train, targets, users: Int32Array.from({ length: data.numUsers }, (_, i) => i) } };
}

export interface TemporalOptions {
  /** Share of interactions, by time, that become test targets. Default 0.2. */
  testFraction?: number;
}

/**
 * Global temporal split: interactions after the time cut-off (the (1 - testFraction) quantile of
 * timestamps) are targets; everything before is training data and the users' fold-in input.
 */
export function temporal(data: Interactions, opts: TemporalOptions = {}): { train: Interactions; test: EvalSet; cutoff: number } {
  if (!data.timestamps) throw new InputError('temporal split needs timestamps');
  const frac = opts.testFraction ?? 0.2;
  if (!(frac > 0 && frac < 1)) throw new InputError('testFraction must be in (0, 1)');
  const sorted = Float64Array.from(data.timestamps).sort();
  const cutoff = sorted[Math.min(sorted.length - 1, Math.floor((1 - frac) * sorted.length))];
  const ts = data.timestamps;
  const train = data.filterEntries((_u, _i, _v, p) => ts[p] < cutoff);
  const targets = data.filterEntries((_u, _i, _v, p) => ts[p] >= cutoff);
  return { train, test: { inputs: train, targets, users: Int32Array.from({ length: data.numUsers }, (_, i) => i) }, cutoff };
}

export interface RatingSplitOptions {
  testFraction?: number;
  seed?: number;
}

/** Random split of individual ratings (for RMSE): same user and item spaces in both parts. */
export function ratings(data: Interactions, opts: RatingSplitOptions = {}): { train: Interactions; test: Interactions } {
  const frac = opts.testFraction ?? 0.1;
  if (!(frac > 0 && frac < 1)) throw new InputError('testFraction must be in (0, 1)');
  const rng = new Rng(checkSeed(opts.seed));
  const order = rng.shuffle(Int32Array.from({ length: data.nnz }, (_, i) => i));
  const isTest = new Uint8Array(data.nnz);
  const nTest = Math.round(frac * data.nnz);
  for (let k = 0; k < nTest; k++) isTest[order[k]] = 1;
  return {
    train: data.filterEntries((_u, _i, _v, p) => isTest[p] === 0),
    test: data.filterEntries((_u, _i, _v, p) => isTest[p] === 1),
  };
}

/** Reads held-out data (e.g. LightGCN test.txt) as an EvalSet against training data with the same user ids. */
export function evalSetFrom(train: Interactions, targets: Interactions): EvalSet {
  const aligned = targets.alignItems(train.itemIds).data;
  const users: number[] = [];
  for (let r = 0; r < aligned.numUsers; r++) users.push(train.userIds.require(aligned.userIds.id(r), 'user'));
  const inputs = train.selectUsers(users);
  return { inputs, targets: Interactions.fromCsr({ indptr: aligned.indptr, indices: aligned.indices, values: aligned.values, userIds: inputs.userIds, itemIds: train.itemIds }), users: Int32Array.from(users) };
}

export const split = { holdoutUsers, perUserFractions, leaveKOut, temporal, ratings, evalSetFrom };
export type { IdMap };
