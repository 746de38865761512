/** A bench dataset and its split, built the same way in the parent (for its record) and in each model's process. */
import { createHash } from 'node:crypto';
import { InputError } from '../errors';
import { Interactions } from '../data/interactions';
import type { FileOptions } from '../data/readers';
import { EvalSet, evalSetFrom, holdoutUsers, leaveKOut, perUserFractions, ratings } from '../data/split';
import { syntheticInteractions, SyntheticOptions } from '../data/synthetic';
import type { DatasetConfig, SplitConfig } from './config';

export async function loadDataset(ds: DatasetConfig): Promise<Interactions> {
  if (ds.synthetic) return syntheticInteractions(ds.synthetic as SyntheticOptions);
  return Interactions.fromFile(ds.file!, (ds.options ?? {}) as FileOptions);
}

export interface BenchSplit {
  train: Interactions;
  test: EvalSet;
  /** The held-out ratings themselves, for rmse and mae ('ratings' split). */
  ratings?: Interactions;
}

export async function makeSplit(data: Interactions, s: SplitConfig): Promise<BenchSplit> {
  switch (s.kind) {
    case 'holdout-users': {
      const kept = data.dropUsersBelow(s.minInteractions ?? 5);
      if (s.testUsers >= kept.numUsers) throw new InputError(`split.testUsers is ${s.testUsers}, but only ${kept.numUsers} users have ${s.minInteractions ?? 5}+ interactions`);
      const r = holdoutUsers(kept, { testUsers: s.testUsers, targetFraction: s.targetFraction, seed: s.seed ?? 42 });
      return { train: r.train, test: r.test };
    }
    case 'leave-k-out':
      return leaveKOut(data, { k: s.k, by: s.by, seed: s.seed ?? 42 });
    case 'per-user': {
      const r = perUserFractions(data, { fractions: s.fractions, minInteractions: s.minInteractions, seed: s.seed ?? 42 });
      return { train: r.train, test: r.test };
    }
    case 'ratings': {
      const r = ratings(data, { testFraction: s.testFraction, seed: s.seed ?? 42 });
      const test = r.test.alignItems(r.train.itemIds).data;
      return { train: r.train, test: evalSetFrom(r.train, test), ratings: test };
    }
    case 'fixed': {
      const sameSpace = data.userIds.isIdentity && data.itemIds.isIdentity ? { numUsers: data.numUsers, numItems: data.numItems } : {};
      const targets = await Interactions.fromFile(s.test, { ...(s.options ?? {}), ...sameSpace } as FileOptions);
      return { train: data, test: evalSetFrom(data, targets) };
    }
  }
}

/** The data's own checksum: its CSR arrays (a file's bytes are recorded beside it). */
export function sha256Data(data: Interactions): string {
  const hash = createHash('sha256');
  for (const a of [data.indptr, data.indices, data.values]) hash.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  return hash.digest('hex');
}

export const shape = (d: Interactions) => ({ users: d.numUsers, items: d.numItems, interactions: d.nnz });
