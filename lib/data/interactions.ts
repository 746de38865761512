import { FormatError, InputError } from '../errors';
import type { CsrArrays } from '../native';
import { checkIndexSpace, ExternalId, IdMap } from './idmap';
import { FileOptions, readInteractions } from './readers';

/** What to do when the same (user, item) pair appears more than once. */
export type DuplicatePolicy = 'error' | 'sum' | 'max' | 'first' | 'last';

/**
 * Ratings are kept as given, or turned implicit: `true` makes every interaction a 1; `{ threshold }`
 * keeps only interactions with rating >= threshold, as 1 (e.g. MovieLens rating >= 4).
 */
export type ImplicitOption = boolean | { threshold: number };

export interface BuildOptions {
  duplicates?: DuplicatePolicy;
  implicit?: ImplicitOption;
}

export interface ArraysInput {
  /** Dense user indices (0..numUsers-1) or external ids (with `userIds` absent they are mapped in first-seen order). */
  users: ArrayLike<number> | readonly ExternalId[];
  items: ArrayLike<number> | readonly ExternalId[];
  values?: ArrayLike<number>;
  timestamps?: ArrayLike<number>;
}

/** 1-based source line of each entry, when the data came from a file (for error messages). */
interface Provenance {
  lines?: Int32Array;
  path?: string;
}

/**
 * A users x items interaction matrix in CSR form, with the external ids of both axes. Immutable:
 * every transformation returns a new instance.
 */
export class Interactions {
  readonly numUsers: number;
  readonly numItems: number;
  readonly indptr: Int32Array;
  readonly indices: Int32Array;
  readonly values: Float32Array;
  /** Aligned with `indices`, when the source had timestamps. */
  readonly timestamps?: Float64Array;
  readonly userIds: IdMap;
  readonly itemIds: IdMap;

  private constructor(parts: {
    indptr: Int32Array;
    indices: Int32Array;
    values: Float32Array;
    timestamps?: Float64Array;
    userIds: IdMap;
    itemIds: IdMap;
  }) {
    this.indptr = parts.indptr;
    this.indices = parts.indices;
    this.values = parts.values;
    this.timestamps = parts.timestamps;
    this.userIds = parts.userIds;
    this.itemIds = parts.itemIds;
    this.numUsers = parts.userIds.size;
    this.numItems = parts.itemIds.size;
  }

  get nnz(): number {
    return this.indices.length;
  }

  /** From validated CSR parts; rows must be sorted by item and free of duplicates. */
  static fromCsr(parts: {
    indptr: Int32Array;
    indices: Int32Array;
    values?: Float32Array;
    timestamps?: Float64Array;
    userIds: IdMap | number;
    itemIds: IdMap | number;
  }): Interactions {
    const userIds = typeof parts.userIds === 'number' ? IdMap.identity(parts.userIds) : parts.userIds;
    const itemIds = typeof parts.itemIds === 'number' ? IdMap.identity(parts.itemIds) : parts.itemIds;
    const nnz = parts.indices.length;
    const values = parts.values ?? new Float32Array(nnz).fill(1);
    checkCsr(parts.indptr, parts.indices, values, userIds.size, itemIds.size);
    if (parts.timestamps && parts.timestamps.length !== nnz) throw new InputError('timestamps must align with indices');
    return new Interactions({ indptr: parts.indptr, indices: parts.indices, values, timestamps: parts.timestamps, userIds, itemIds });
  }

  /**
   * From parallel arrays of (user, item[, value, timestamp]). Numeric arrays with no id maps are
   * taken as dense indices; arrays of strings (or given maps) are mapped to dense indices.
   */
  static fromArrays(
    input: ArraysInput,
    opts: BuildOptions & { userIds?: IdMap; itemIds?: IdMap; numUsers?: number; numItems?: number } = {},
  ): Interactions {
    if (typeof input !== 'object' || input === null) throw new InputError('fromArrays needs { users, items[, values, timestamps] }');
    for (const key of ['users', 'items', 'values', 'timestamps'] as const) {
      const a: unknown = input[key];
      if (a === undefined && (key === 'values' || key === 'timestamps')) continue;
      if (!Array.isArray(a) && !(ArrayBuffer.isView(a) && !(a instanceof DataView)))
        throw new InputError(`${key} must be an array or a typed array, got ${a === null ? 'null' : typeof a}`);
    }
    const n = input.users.length;
    if (input.items.length !== n) throw new InputError('users and items must have the same length');
    if (input.values && input.values.length !== n) throw new InputError('values must have the same length as users');
    if (input.timestamps && input.timestamps.length !== n) throw new InputError('timestamps must have the same length as users');
    const users = new Int32Array(n);
    const items = new Int32Array(n);
    const u = mapAxis(input.users, users, opts.userIds, opts.numUsers, 'user');
    const i = mapAxis(input.items, items, opts.itemIds, opts.numItems, 'item');
    let values: Float32Array | undefined;
    if (input.values) {
      values = new Float32Array(n);
      for (let k = 0; k < n; k++) {
        const v = Number(input.values[k]);
        if (!Number.isFinite(v)) throw new InputError(`value at position ${k} is not a finite number (${String(input.values[k])})`);
        values[k] = v;
      }
    }
    let timestamps: Float64Array | undefined;
    if (input.timestamps) {
      timestamps = Float64Array.from(input.timestamps, Number);
      const bad = timestamps.findIndex((t) => !Number.isFinite(t));
      if (bad >= 0) throw new InputError(`timestamp at position ${bad} is not a finite number`);
    }
    return Interactions.fromCoo({ users, items, values, timestamps }, u, i, opts);
  }

  /** Reads a CSV/TSV, MovieLens '::' or LightGCN file (see FileOptions); streams, never loads it whole. */
  static async fromFile(file: string, opts: FileOptions = {}): Promise<Interactions> {
    return (await readInteractions(file, opts)).data;
  }

  /** Users with at least `min` interactions, in their original order (a new user id map). */
  dropUsersBelow(min: number): Interactions {
    const keep: number[] = [];
    for (let u = 0; u < this.numUsers; u++) if (this.indptr[u + 1] - this.indptr[u] >= min) keep.push(u);
    return keep.length === this.numUsers ? this : this.selectUsers(keep);
  }

  /** @internal From dense-index COO arrays (used by the file readers). */
  static fromCoo(
    coo: { users: Int32Array; items: Int32Array; values?: Float32Array; timestamps?: Float64Array },
    userIds: IdMap,
    itemIds: IdMap,
    opts: BuildOptions = {},
    provenance: Provenance = {},
  ): Interactions {
    let { users, items, values, timestamps } = coo;
    let lines = provenance.lines;
    const implicit = opts.implicit ?? false;
    if (typeof implicit === 'object') {
      if (!Number.isFinite(implicit.threshold)) throw new InputError('implicit.threshold must be a finite number');
      if (!values) throw new InputError('implicit.threshold needs rating values');
      const keep: number[] = [];
      for (let k = 0; k < values.length; k++) if (values[k] >= implicit.threshold) keep.push(k);
      const pick = <T extends Int32Array | Float32Array | Float64Array>(a: T): T => {
        const out = new (a.constructor as new (n: number) => T)(keep.length);
        keep.forEach((src, dst) => (out[dst] = a[src]));
        return out;
      };
      users = pick(users);
      items = pick(items);
      timestamps = timestamps && pick(timestamps);
      lines = lines && pick(lines);
      values = undefined;
    } else if (implicit === true) {
      values = undefined;
    }
    const n = users.length;
    // Two stable counting sorts (by item, then by user) leave every row sorted by item.
    const byItem = countingOrder(items, itemIds.size, identityOrder(n));
    const order = countingOrder(users, userIds.size, byItem);
    const policy = opts.duplicates ?? 'error';
    const indptr = new Int32Array(userIds.size + 1);
    const outIdx: number[] = [];
    const outVal: number[] = [];
    const outTs: number[] = [];
    let prevU = -1;
    let prevI = -1;
    for (let p = 0; p < n; p++) {
      const k = order[p];
      const uu = users[k];
      const ii = items[k];
      const v = values ? values[k] : 1;
      const t = timestamps ? timestamps[k] : 0;
      if (uu === prevU && ii === prevI) {
        if (policy === 'error') {
          const where = lines ? ` (line ${lines[k]}${provenance.path ? ` of ${provenance.path}` : ''})` : ` (position ${k})`;
          throw new FormatError(
            `duplicate interaction for user ${JSON.stringify(userIds.id(uu))} and item ${JSON.stringify(itemIds.id(ii))}${where}; ` +
              "pass duplicates: 'sum' | 'max' | 'first' | 'last' to merge them",
            { line: lines?.[k], path: provenance.path },
          );
        }
        const last = outIdx.length - 1;
        if (policy === 'sum') outVal[last] += v;
        else if (policy === 'max') outVal[last] = Math.max(outVal[last], v);
        else if (policy === 'last') {
          outVal[last] = v;
          outTs[last] = t;
        }
        continue;
      }
      outIdx.push(ii);
      outVal.push(v);
      outTs.push(t);
      indptr[uu + 1]++;
      prevU = uu;
      prevI = ii;
    }
    for (let r = 0; r < userIds.size; r++) indptr[r + 1] += indptr[r];
    return new Interactions({
      indptr,
      indices: Int32Array.from(outIdx),
      values: Float32Array.from(outVal),
      timestamps: timestamps ? Float64Array.from(outTs) : undefined,
      userIds,
      itemIds,
    });
  }

  /** The addon's view; arrays are shared, not copied. */
  csr(): CsrArrays {
    return { rows: this.numUsers, cols: this.numItems, indptr: this.indptr, indices: this.indices, values: this.values };
  }

  /** Items and values of user index u (views into the CSR arrays). */
  row(u: number): { items: Int32Array; values: Float32Array; timestamps?: Float64Array } {
    if (!Number.isInteger(u) || u < 0 || u >= this.numUsers) throw new InputError(`user index ${u} out of range [0, ${this.numUsers})`);
    const b = this.indptr[u];
    const e = this.indptr[u + 1];
    return { items: this.indices.subarray(b, e), values: this.values.subarray(b, e), timestamps: this.timestamps?.subarray(b, e) };
  }

  /** Number of interactions per item. */
  itemCounts(): Int32Array {
    const c = new Int32Array(this.numItems);
    for (const i of this.indices) c[i]++;
    return c;
  }

  /** Number of interactions per user. */
  userCounts(): Int32Array {
    const c = new Int32Array(this.numUsers);
    for (let u = 0; u < this.numUsers; u++) c[u] = this.indptr[u + 1] - this.indptr[u];
    return c;
  }

  /** Implicit copy: every stored entry becomes 1, or only entries >= threshold are kept (as 1). */
  binarize(threshold?: number): Interactions {
    const keep = (v: number) => threshold === undefined || v >= threshold;
    return this.filterEntries((_u, _i, v) => keep(v), () => 1);
  }

  /**
   * Keeps entries for which pred(user, item, value) holds; `value` maps kept values. User and item
   * spaces are unchanged.
   */
  filterEntries(pred: (u: number, item: number, v: number, p: number) => boolean, value?: (v: number) => number): Interactions {
    const indptr = new Int32Array(this.numUsers + 1);
    const idx: number[] = [];
    const vals: number[] = [];
    const ts: number[] = [];
    for (let u = 0; u < this.numUsers; u++) {
      for (let p = this.indptr[u]; p < this.indptr[u + 1]; p++) {
        if (!pred(u, this.indices[p], this.values[p], p)) continue;
        idx.push(this.indices[p]);
        vals.push(value ? value(this.values[p]) : this.values[p]);
        if (this.timestamps) ts.push(this.timestamps[p]);
      }
      indptr[u + 1] = idx.length;
    }
    return new Interactions({
      indptr,
      indices: Int32Array.from(idx),
      values: Float32Array.from(vals),
      timestamps: this.timestamps ? Float64Array.from(ts) : undefined,
      userIds: this.userIds,
      itemIds: this.itemIds,
    });
  }

  /**
   * @internal The rows of the given users as CSR arrays, without an Interactions around them (the
   * serving path: one user's row is a view, not a copy).
   */
  rowsCsr(users: ArrayLike<number>): CsrArrays {
    if (users.length === 1) {
      const u = users[0];
      if (!Number.isInteger(u) || u < 0 || u >= this.numUsers) throw new InputError(`user index ${u} out of range`);
      const b = this.indptr[u];
      const e = this.indptr[u + 1];
      return { rows: 1, cols: this.numItems, indptr: Int32Array.of(0, e - b), indices: this.indices.subarray(b, e), values: this.values.subarray(b, e) };
    }
    return this.selectUsers(users).csr();
  }

  /** The given users (by index), in that order, with a matching user id map. */
  selectUsers(users: ArrayLike<number>): Interactions {
    const indptr = new Int32Array(users.length + 1);
    let nnz = 0;
    for (let r = 0; r < users.length; r++) {
      const u = users[r];
      if (!Number.isInteger(u) || u < 0 || u >= this.numUsers) throw new InputError(`user index ${u} out of range`);
      nnz += this.indptr[u + 1] - this.indptr[u];
      indptr[r + 1] = nnz;
    }
    const indices = new Int32Array(nnz);
    const values = new Float32Array(nnz);
    const timestamps = this.timestamps ? new Float64Array(nnz) : undefined;
    for (let r = 0; r < users.length; r++) {
      const b = this.indptr[users[r]];
      const e = this.indptr[users[r] + 1];
      indices.set(this.indices.subarray(b, e), indptr[r]);
      values.set(this.values.subarray(b, e), indptr[r]);
      timestamps?.set(this.timestamps!.subarray(b, e), indptr[r]);
    }
    return new Interactions({ indptr, indices, values, timestamps, userIds: this.userIds.subset(users), itemIds: this.itemIds });
  }

  /**
   * The same interactions expressed in another item space (e.g. a trained model's), matching items by
   * external id. Items the target space does not know are dropped and counted.
   */
  alignItems(itemIds: IdMap): { data: Interactions; droppedItems: number; droppedInteractions: number } {
    if (itemIds === this.itemIds) return { data: this, droppedItems: 0, droppedInteractions: 0 };
    const remap = new Int32Array(this.numItems);
    let droppedItems = 0;
    for (let i = 0; i < this.numItems; i++) {
      const j = itemIds.index(this.itemIds.id(i));
      remap[i] = j === undefined ? -1 : j;
      if (j === undefined) droppedItems++;
    }
    const users: number[] = [];
    const items: number[] = [];
    const vals: number[] = [];
    const ts: number[] = [];
    let droppedInteractions = 0;
    for (let u = 0; u < this.numUsers; u++)
      for (let p = this.indptr[u]; p < this.indptr[u + 1]; p++) {
        const j = remap[this.indices[p]];
        if (j < 0) {
          droppedInteractions++;
          continue;
        }
        users.push(u);
        items.push(j);
        vals.push(this.values[p]);
        if (this.timestamps) ts.push(this.timestamps[p]);
      }
    const data = Interactions.fromCoo(
      {
        users: Int32Array.from(users),
        items: Int32Array.from(items),
        values: Float32Array.from(vals),
        timestamps: this.timestamps ? Float64Array.from(ts) : undefined,
      },
      this.userIds,
      itemIds,
    );
    return { data, droppedItems, droppedInteractions };
  }

  /** Entry-aligned COO copy: user index per stored entry. */
  rowOfEntry(): Int32Array {
    const out = new Int32Array(this.nnz);
    for (let u = 0; u < this.numUsers; u++) out.fill(u, this.indptr[u], this.indptr[u + 1]);
    return out;
  }

  toString(): string {
    return `Interactions(${this.numUsers} users x ${this.numItems} items, ${this.nnz} interactions)`;
  }
}

function identityOrder(n: number): Int32Array {
  const o = new Int32Array(n);
  for (let k = 0; k < n; k++) o[k] = k;
  return o;
}

/** Stable counting sort of `order` by key[order[p]]. */
function countingOrder(key: Int32Array, range: number, order: Int32Array): Int32Array {
  const count = new Int32Array(range + 1);
  for (let p = 0; p < order.length; p++) count[key[order[p]] + 1]++;
  for (let r = 0; r < range; r++) count[r + 1] += count[r];
  const out = new Int32Array(order.length);
  for (let p = 0; p < order.length; p++) out[count[key[order[p]]]++] = order[p];
  return out;
}

function mapAxis(
  src: ArrayLike<number> | readonly ExternalId[],
  out: Int32Array,
  ids: IdMap | undefined,
  declared: number | undefined,
  what: string,
): IdMap {
  const n = out.length;
  if (ids) {
    for (let k = 0; k < n; k++) out[k] = ids.require((src as ArrayLike<ExternalId>)[k], what);
    return ids;
  }
  const allIndices = Array.prototype.every.call(src, (x: unknown) => typeof x === 'number');
  if (!allIndices) {
    const lookup = new Map<string, number>();
    const list: ExternalId[] = [];
    for (let k = 0; k < n; k++) {
      const id = (src as ArrayLike<ExternalId>)[k];
      if (typeof id !== 'string' && typeof id !== 'number') throw new InputError(`${what} id at position ${k} is not a string or number`);
      if (typeof id === 'number' && !Number.isFinite(id)) throw new InputError(`${what} id at position ${k} is not finite`);
      const key = String(id);
      let i = lookup.get(key);
      if (i === undefined) {
        i = list.length;
        lookup.set(key, i);
        list.push(id);
      }
      out[k] = i;
    }
    return IdMap.from(list);
  }
  let max = -1;
  for (let k = 0; k < n; k++) {
    const v = (src as ArrayLike<number>)[k];
    if (!Number.isInteger(v) || v < 0 || v > 0x7ffffffe)
      throw new InputError(`${what} index at position ${k} must be a non-negative integer, got ${String(v)}`);
    out[k] = v;
    if (v > max) max = v;
  }
  const size = declared ?? max + 1;
  if (!Number.isInteger(size) || size < max + 1)
    throw new InputError(`${what} index ${max} is out of range for num${what === 'user' ? 'Users' : 'Items'} = ${size}`);
  checkIndexSpace(size, n, what as 'user' | 'item');
  return IdMap.identity(size);
}

function checkCsr(indptr: Int32Array, indices: Int32Array, values: Float32Array, rows: number, cols: number): void {
  const tag = (a: unknown) => Object.prototype.toString.call(a);
  if (tag(indptr) !== '[object Int32Array]' || tag(indices) !== '[object Int32Array]' || tag(values) !== '[object Float32Array]')
    throw new InputError('CSR parts must be Int32Array indptr/indices and Float32Array values');
  if (indptr.length !== rows + 1 || indptr[0] !== 0) throw new InputError('indptr must have rows + 1 entries starting at 0');
  if (indptr[rows] !== indices.length || values.length !== indices.length) throw new InputError('indptr[rows] must equal the number of entries');
  for (let r = 0; r < rows; r++) {
    if (indptr[r + 1] < indptr[r]) throw new InputError(`indptr decreases at row ${r}`);
    for (let p = indptr[r]; p < indptr[r + 1]; p++) {
      const c = indices[p];
      if (c < 0 || c >= cols) throw new InputError(`column index ${c} out of range at row ${r}`);
      if (p > indptr[r] && indices[p - 1] >= c) throw new InputError(`row ${r} is not sorted or has duplicate items`);
      if (!Number.isFinite(values[p])) throw new InputError(`non-finite value at row ${r}`);
    }
  }
}
