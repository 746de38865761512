import { InputError } from '../errors';

export type ExternalId = string | number;

/**
 * @internal String keys to indices without V8's limit of 2^24 entries per Map: keys go into Maps of at most
 * 2^23 entries each, searched in turn (a catalogue of 30M ids takes 4 lookups at worst).
 */
export class KeyIndex {
  private readonly shards: Map<string, number>[] = [new Map()];

  constructor(private readonly shard = 1 << 23) {}

  get shardCount(): number {
    return this.shards.length;
  }

  get(key: string): number | undefined {
    for (const m of this.shards) {
      const v = m.get(key);
      if (v !== undefined) return v;
    }
    return undefined;
  }

  /** Adds a key known to be absent. */
  add(key: string, index: number): void {
    let last = this.shards[this.shards.length - 1];
    if (last.size >= this.shard) this.shards.push((last = new Map()));
    last.set(key, index);
  }
}

/**
 * A two-way map between external ids (numbers or strings, as the data had them) and dense indices
 * 0..size-1. Numeric ids that look the same as strings ("42" vs 42) are the same id. Identity maps
 * (index i is id i) hold no arrays, so an index space costs nothing until rows use it.
 */
export class IdMap {
  /** undefined for an identity map */
  private readonly ids?: ExternalId[];
  private readonly lookup?: KeyIndex;
  private readonly count: number;

  private constructor(ids: ExternalId[] | undefined, count: number, lookup?: KeyIndex) {
    this.count = count;
    if (!ids) return;
    this.ids = ids;
    if (lookup) {
      this.lookup = lookup;
      return;
    }
    this.lookup = new KeyIndex();
    ids.forEach((id, i) => {
      const key = String(id);
      if (this.lookup!.get(key) !== undefined) throw new InputError(`duplicate external id ${key} in id map`);
      this.lookup!.add(key, i);
    });
  }

  /**
   * ids[i] is the external id of index i. Ids that are exactly their own indices (the numbers 0, 1,
   * …, as LightGCN files and `ids: 'index'` give) become an identity map, which holds no table.
   */
  static from(ids: readonly ExternalId[]): IdMap {
    let identity = true;
    for (let i = 0; i < ids.length && identity; i++) identity = ids[i] === i;
    return identity ? new IdMap(undefined, ids.length) : new IdMap([...ids], ids.length);
  }

  /** @internal From ids known to be distinct and their index (IdMapBuilder). */
  static fromDistinct(ids: ExternalId[], lookup: KeyIndex): IdMap {
    return new IdMap(ids, ids.length, lookup);
  }

  /** Every id of the given maps, in first-seen order (e.g. the items of train, validation and test files). */
  static union(...maps: IdMap[]): IdMap {
    if (maps.length > 0 && maps.every((m) => m.ids === undefined)) return IdMap.identity(Math.max(...maps.map((m) => m.count)));
    const builder = new IdMapBuilder();
    for (const m of maps) for (let i = 0; i < m.count; i++) builder.indexOf(m.id(i));
    return builder.build();
  }

  /** External id i for every index i (no mapping was given). */
  static identity(n: number): IdMap {
    if (!Number.isSafeInteger(n) || n < 0) throw new InputError(`an id map size must be a non-negative integer, got ${String(n)}`);
    return new IdMap(undefined, n);
  }

  get size(): number {
    return this.count;
  }

  /** Whether index i is external id i for every i. */
  get isIdentity(): boolean {
    return this.ids === undefined;
  }

  /** Index of an external id, or undefined. */
  index(id: ExternalId): number | undefined {
    const key = String(id);
    if (this.lookup) return this.lookup.get(key);
    const v = Number(key);
    return Number.isInteger(v) && v >= 0 && v < this.count && String(v) === key ? v : undefined;
  }

  /**
   * Indices of `ids`, with -1 for unknown ones when `ignore`; otherwise an unknown id is E_INPUT
   * naming it and its position: `unknown ${kind} id "x" at ${where}[pos]`.
   */
  indicesOf(ids: readonly ExternalId[], kind: string, where: string, ignore = false): Int32Array {
    const out = new Int32Array(ids.length);
    ids.forEach((id, pos) => {
      const i = this.index(id);
      if (i === undefined && !ignore) throw new InputError(`unknown ${kind} id ${JSON.stringify(id)} at ${where}[${pos}]`);
      out[pos] = i ?? -1;
    });
    return out;
  }

  /** Index of an external id; throws E_INPUT naming `what` when unknown. */
  require(id: ExternalId, what: string): number {
    const i = this.index(id);
    if (i === undefined) throw new InputError(`unknown ${what} id ${JSON.stringify(id)}`);
    return i;
  }

  id(index: number): ExternalId {
    if (!Number.isInteger(index) || index < 0 || index >= this.count)
      throw new InputError(`index ${index} is out of range [0, ${this.count})`);
    return this.ids ? this.ids[index] : index;
  }

  toArray(): ExternalId[] {
    return this.ids ? [...this.ids] : Array.from({ length: this.count }, (_, i) => i);
  }

  /** A new map holding the ids of the given indices, in that order. */
  subset(indices: ArrayLike<number>): IdMap {
    return IdMap.from(Array.from(indices, (i) => this.id(i)));
  }
}

/** Builds an IdMap incrementally while reading data, assigning indices in first-seen order. */
export class IdMapBuilder {
  private readonly ids: ExternalId[] = [];
  private readonly lookup = new KeyIndex();

  indexOf(id: ExternalId): number {
    const key = typeof id === 'number' ? String(id) : id;
    let i = this.lookup.get(key);
    if (i === undefined) {
      i = this.ids.length;
      this.lookup.add(key, i);
      this.ids.push(id);
    }
    return i;
  }

  get size(): number {
    return this.ids.length;
  }

  /** The map; the builder must not be used afterwards. */
  build(): IdMap {
    return IdMap.fromDistinct(this.ids, this.lookup);
  }
}

/**
 * The largest dense index space (users or items given as 0-based indices) cfkit accepts for data
 * with `entries` interactions: 2^24, or 16 per interaction when that is more. A row costs 4 bytes
 * before any interaction uses it, so a stray index such as 2147483646 in a 19-byte file must fail
 * here, at once, instead of sizing arrays by it.
 */
export function maxIndexSpace(entries: number): number {
  return Math.max(1 << 24, 16 * entries);
}

/** Throws E_INPUT unless `size` dense indices are acceptable for `entries` interactions (see maxIndexSpace). */
export function checkIndexSpace(size: number, entries: number, what: 'user' | 'item', where = ''): void {
  const limit = maxIndexSpace(entries);
  if (Number.isSafeInteger(size) && size >= 0 && size <= limit) return;
  const field = what === 'user' ? 'numUsers' : 'numItems';
  throw new InputError(
    `${where}${String(size)} ${what}s for ${entries} interactions: dense ${what} indices (or ${field}) may span at most ` +
      `max(2^24, 16 × interactions) = ${limit}; give sparse ids as strings or through an IdMap (files: ids: 'auto') so they are mapped to dense indices`,
  );
}
