import { InputError } from '../errors';

export type ExternalId = string | number;

/**
 * A two-way map between external ids (numbers or strings, as the data had them) and dense indices
 * 0..size-1. Numeric ids that look the same as strings ("42" vs 42) are the same id.
 */
export class IdMap {
  private readonly ids: ExternalId[];
  private readonly lookup = new Map<string, number>();

  private constructor(ids: ExternalId[]) {
    this.ids = ids;
    ids.forEach((id, i) => {
      const key = String(id);
      if (this.lookup.has(key)) throw new InputError(`duplicate external id ${key} in id map`);
      this.lookup.set(key, i);
    });
  }

  /** ids[i] is the external id of index i. */
  static from(ids: readonly ExternalId[]): IdMap {
    return new IdMap([...ids]);
  }

  /** Every id of the given maps, in first-seen order (e.g. the items of train, validation and test files). */
  static union(...maps: IdMap[]): IdMap {
    const seen = new Set<string>();
    const ids: ExternalId[] = [];
    for (const m of maps)
      for (const id of m.ids) {
        const key = String(id);
        if (seen.has(key)) continue;
        seen.add(key);
        ids.push(id);
      }
    return new IdMap(ids);
  }

  /** External id i for every index i (no mapping was given). */
  static identity(n: number): IdMap {
    return new IdMap(Array.from({ length: n }, (_, i) => i));
  }

  get size(): number {
    return this.ids.length;
  }

  /** Index of an external id, or undefined. */
  index(id: ExternalId): number | undefined {
    return this.lookup.get(String(id));
  }

  /** Index of an external id; throws E_INPUT naming `what` when unknown. */
  require(id: ExternalId, what: string): number {
    const i = this.lookup.get(String(id));
    if (i === undefined) throw new InputError(`unknown ${what} id ${JSON.stringify(id)}`);
    return i;
  }

  id(index: number): ExternalId {
    if (!Number.isInteger(index) || index < 0 || index >= this.ids.length)
      throw new InputError(`index ${index} is out of range [0, ${this.ids.length})`);
    return this.ids[index];
  }

  toArray(): ExternalId[] {
    return [...this.ids];
  }

  /** A new map holding the ids of the given indices, in that order. */
  subset(indices: ArrayLike<number>): IdMap {
    return new IdMap(Array.from(indices, (i) => this.ids[i]));
  }
}

/** Builds an IdMap incrementally while reading data, assigning indices in first-seen order. */
export class IdMapBuilder {
  private readonly ids: ExternalId[] = [];
  private readonly lookup = new Map<string, number>();

  indexOf(id: ExternalId): number {
    const key = typeof id === 'number' ? String(id) : id;
    let i = this.lookup.get(key);
    if (i === undefined) {
      i = this.ids.length;
      this.lookup.set(key, i);
      this.ids.push(id);
    }
    return i;
  }

  get size(): number {
    return this.ids.length;
  }

  build(): IdMap {
    return IdMap.from(this.ids);
  }
}
