/** The interface every cfkit model offers, and the native-backed base class that implements it. */
import { DisposedError, FormatError, InputError } from '../errors';
import { ExternalId, IdMap } from '../data/idmap';
import { Interactions } from '../data/interactions';
import { runNative, RunOptions } from '../job';
import { CsrArrays, native, NativeFilterOptions, NativeJobOptions, NativeModelHandle, NativeTopK } from '../native';
import { ModelFile, section, SectionData, writeModelFile } from '../io/container';
import { unknownPolicy } from './item-filter';
import { loopBusy, timedStart } from './inline-policy';
import { ItemSelection, resolveFilters, rowsFromIds, UnknownTally } from './request';
import { version } from '../version';
import { recommendAll, RecommendAllOptions, RecommendationBatch } from './recommend-all';

export interface RecommendOptions extends RunOptions {
  /** How many items per row. Default 10. */
  k?: number;
  /** Never recommend a row's own input items. Default true. */
  maskInput?: boolean;
  /** Items never to recommend: one list for every row, one list per row (external item ids), or an ItemFilter. */
  exclude?: ItemSelection;
  /** The only items to recommend (candidates): one list for every row, one list per row, or an ItemFilter. */
  include?: ItemSelection;
  /** Drop items that score below this. Fallback rows are scored by training counts and ignore it. */
  minScore?: number;
  /**
   * 'error' (default): an unknown user or item id is E_INPUT naming it and its position. 'ignore':
   * unknown items are dropped from every list, and a row for an unknown user (or query item) is
   * served as a visitor with no history; the result lists them (unknownRows, unknownIds).
   */
  unknown?: 'error' | 'ignore';
  /**
   * Rows with no known items (a visitor with no history) get the most popular training items, with
   * `exclude` applied, scored by their training counts: 'popular' (default). 'none' leaves them to
   * the model, which has nothing to go on.
   */
  fallback?: 'popular' | 'none';
  /**
   * 'auto' (default): a call for one or two rows on one thread runs on the calling thread when the
   * model estimates its work under 0.5 ms (SANSA and EASE; other models always use a worker
   * thread) and the event loop spent under half of the last 20 ms on work other than such calls.
   * A caller awaiting one call at a time so skips the hop to a worker thread, which costs more
   * than the work; a busy server keeps scoring in parallel with its own work on worker threads.
   * 'never': always use a worker thread.
   */
  inline?: 'auto' | 'never';
}

/** Top-k results for a batch of rows. Rows with fewer than k candidates are padded with -1 / -Infinity. */
export class Recommendations {
  constructor(
    readonly rows: number,
    readonly k: number,
    /** Item indices, rows x k, row-major. */
    readonly indices: Int32Array,
    readonly scores: Float32Array,
    private readonly itemIds: IdMap,
    /** Rows served by the popularity fallback (RecommendOptions.fallback). */
    readonly fallbackRows: readonly number[] = [],
    /** Rows whose user (or query item) was unknown, with `unknown: 'ignore'`. */
    readonly unknownRows: readonly number[] = [],
    /** Item ids dropped as unknown from the call's lists, with `unknown: 'ignore'`. */
    readonly unknownIds = 0,
  ) {}

  /** External item ids of row r, best first (padding removed). */
  items(r: number): ExternalId[] {
    const out: ExternalId[] = [];
    for (let j = 0; j < this.k; j++) {
      const i = this.indices[r * this.k + j];
      if (i < 0) break;
      out.push(this.itemIds.id(i));
    }
    return out;
  }

  /** Scores of row r, aligned with items(r). */
  scoresOf(r: number): number[] {
    return Array.from(this.scores.subarray(r * this.k, r * this.k + this.items(r).length));
  }

  toArray(): { items: ExternalId[]; scores: number[] }[] {
    return Array.from({ length: this.rows }, (_, r) => ({ items: this.items(r), scores: this.scoresOf(r) }));
  }
}

export interface Recommender {
  readonly type: string;
  readonly itemIds: IdMap;
  readonly numItems: number;
  readonly disposed: boolean;
  /** Training rows by user, when the model keeps them (known users are served from them). */
  readonly history?: Interactions;
  /** @internal The addon handle; throws DisposedError after dispose(). */
  nativeHandle(): NativeModelHandle;
  recommend(inputs: Interactions, opts?: RecommendOptions): Promise<Recommendations>;
  recommendUsers(users: readonly ExternalId[], opts?: RecommendOptions): Promise<Recommendations>;
  recommendItems(itemLists: readonly (readonly ExternalId[])[], opts?: RecommendOptions): Promise<Recommendations>;
  similarItems(items: readonly ExternalId[], opts?: RecommendOptions): Promise<Recommendations>;
  /** Top-k for every training user (or `opts.users`) in bounded batches; see models/recommend-all. */
  recommendAll(opts?: RecommendAllOptions): AsyncGenerator<RecommendationBatch>;
  save(file: string): Promise<void>;
  dispose(): void;
  [Symbol.dispose](): void;
}

/** E_INPUT unless `data` is Interactions with at least one entry: the guard of every fit. */
export function checkTrainingData(data: unknown, model: string, name = 'train'): asserts data is Interactions {
  if (!(data instanceof Interactions)) throw new InputError(`${name} must be Interactions`);
  if (data.nnz === 0 || data.numItems === 0) throw new InputError(`cannot fit ${model} on an empty matrix`);
}

/**
 * Batches of at most this many rows run on one thread unless `threads` is given. Measured on ML-1M
 * (2-core AMD EPYC, recommendUsers, k = 20, 350 calls after 50 warm-ups): one user took p50 75 µs
 * and p99 209 µs on one thread against 81 and 188 µs on two (SANSA), and 131/875 µs against
 * 135/2129 µs (EASE); two users were mixed; from 4 rows on, two threads were as fast or faster.
 */
export const SINGLE_THREAD_ROWS = 2;

/** The threads for a recommend call of `rows` rows: the caller's, else one for small batches. */
export function servingThreads(rows: number, threads: number | undefined): number | undefined {
  return threads ?? (rows <= SINGLE_THREAD_ROWS ? 1 : undefined);
}

/**
 * Runs the native job of a recommend call of `rows` rows: on one thread for small batches unless
 * `threads` is given, and allowed onto the calling thread by the inline policy (the addon then
 * decides from the model's estimate). Time spent in a call allowed inline counts as cfkit's own.
 */
function runServing<T>(rows: number, opts: RecommendOptions | undefined, start: (job: NativeJobOptions) => Promise<T>): Promise<T> {
  const policy = opts?.inline ?? 'auto';
  if (policy !== 'auto' && policy !== 'never') throw new InputError(`inline must be 'auto' or 'never', got ${String(policy)}`);
  const run = { threads: servingThreads(rows, opts?.threads), signal: opts?.signal, onProgress: opts?.onProgress };
  const inline = policy === 'auto' && rows <= SINGLE_THREAD_ROWS && run.threads === 1 && !run.onProgress && !loopBusy();
  return inline ? timedStart(() => runNative(run, start, true)) : runNative(run, start);
}

function checkK(k: number | undefined, numItems: number): number {
  const kk = k ?? 10;
  if (!Number.isInteger(kk) || kk < 1) throw new InputError(`k must be a positive integer, got ${String(k)}`);
  return Math.min(kk, numItems);
}

/** Training interactions per item: the popularity behind the cold-start fallback. */
export function itemCounts(data: Interactions): Int32Array {
  const counts = new Int32Array(data.numItems);
  for (const i of data.indices) counts[i]++;
  return counts;
}

/** The rows whose index is -1 (unknown ids); `found` is changed in place to hold 0 for them. */
function splitUnknown(found: Int32Array): number[] {
  const unknownRows: number[] = [];
  for (let r = 0; r < found.length; r++)
    if (found[r] < 0) {
      unknownRows.push(r);
      found[r] = 0;
    }
  return unknownRows;
}

/** CSR rows with the given rows emptied (unknown users, served by the fallback). */
function withEmptyRows(csr: CsrArrays, empty: Set<number>): CsrArrays {
  const indptr = new Int32Array(csr.rows + 1);
  const kept: number[] = [];
  for (let r = 0; r < csr.rows; r++) {
    if (!empty.has(r)) for (let p = csr.indptr[r]; p < csr.indptr[r + 1]; p++) kept.push(p);
    indptr[r + 1] = kept.length;
  }
  const indices = Int32Array.from(kept, (p) => csr.indices[p]);
  const values = csr.values ? Float32Array.from(kept, (p) => csr.values![p]) : undefined;
  return { rows: csr.rows, cols: csr.cols, indptr, indices, values };
}

/** Shared behaviour of models whose parameters live in the addon. */
export abstract class NativeRecommender implements Recommender {
  abstract readonly type: string;
  readonly itemIds: IdMap;
  /** Training rows by user, kept so known users can be served by id. */
  readonly history?: Interactions;
  private handle: NativeModelHandle | null;
  private popularityCounts?: Int32Array;
  private popularityScores?: Float32Array;

  protected constructor(handle: NativeModelHandle, itemIds: IdMap, history?: Interactions) {
    if (handle.numItems() !== itemIds.size) throw new InputError('model and item id map disagree on the number of items');
    this.handle = handle;
    this.itemIds = itemIds;
    this.history = history;
  }

  get numItems(): number {
    return this.itemIds.size;
  }

  get disposed(): boolean {
    return this.handle === null;
  }

  nativeHandle(): NativeModelHandle {
    if (!this.handle || this.handle.disposed) throw new DisposedError(`this ${this.type} model`);
    return this.handle;
  }

  /** Frees native memory now. Idempotent; later calls on the model throw DisposedError. */
  dispose(): void {
    this.handle?.dispose();
    this.handle = null;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  /** Training interactions per item (items with no training data count 0); saved with the model. */
  get popularity(): Int32Array {
    return (this.popularityCounts ??= this.history ? itemCounts(this.history) : new Int32Array(this.numItems));
  }

  /** @internal Sets the training counts (fit and load do). */
  withPopularity(counts: Int32Array | undefined): this {
    if (counts === undefined) return this;
    if (counts.length !== this.numItems) throw new InputError('popularity needs one count per item');
    this.popularityCounts = counts;
    this.popularityScores = undefined;
    return this;
  }

  // The fallback's item scores: training counts, and -inf for items never seen in training (never recommended).
  private popularScores(): Float32Array {
    return (this.popularityScores ??= Float32Array.from(this.popularity, (c) => (c > 0 ? c : -Infinity)));
  }

  /**
   * Runs one top-k call. `empty(r)` marks rows with nothing to go on (no known items, or an unknown
   * user or query item): with fallback 'popular' the addon ranks them by training counts under the
   * same filters; with 'none' an unknown row gets nothing and an empty one is left to the model.
   */
  private async finish(
    call: (opts: NativeFilterOptions) => Promise<NativeTopK>,
    rows: number,
    empty: (r: number) => boolean,
    unknownRows: number[],
    tally: UnknownTally,
    opts: RecommendOptions | undefined,
    k: number,
  ): Promise<Recommendations> {
    const fallback = opts?.fallback ?? 'popular';
    if (fallback !== 'popular' && fallback !== 'none') throw new InputError(`fallback must be 'popular' or 'none', got ${String(fallback)}`);
    const o = resolveFilters(opts, rows, this.itemIds, tally, k);
    const flagged: number[] = [];
    if (fallback === 'popular') {
      for (let r = 0; r < rows; r++) if (empty(r)) flagged.push(r);
    } else flagged.push(...unknownRows);
    if (flagged.length > 0) {
      const flags = new Uint8Array(rows);
      for (const r of flagged) flags[r] = 1;
      o.fallbackRows = flags;
      // The addon copies what it is given, so the per-item scores travel only when a row needs them.
      if (fallback === 'popular') o.fallbackScores = this.popularScores();
    }
    const t = await call(o);
    const served = fallback === 'popular' ? flagged : [];
    return new Recommendations(t.rows, t.k, t.ids, t.scores, this.itemIds, served, unknownRows, tally.ids);
  }

  private async topk(inputs: CsrArrays, opts: RecommendOptions | undefined, tally: UnknownTally, unknownRows: number[] = [], users?: Int32Array): Promise<Recommendations> {
    const handle = this.nativeHandle();
    const k = checkK(opts?.k, this.numItems);
    const maskInput = opts?.maskInput ?? true;
    const unknown = unknownRows.length > 0 ? new Set(unknownRows) : undefined;
    return this.finish(
      (o) => {
        o.maskInput = maskInput;
        o.users = users;
        return runServing(inputs.rows, opts, (job) => native().recommend(handle, inputs, o, job));
      },
      inputs.rows,
      (r) => unknown?.has(r) || inputs.indptr[r + 1] === inputs.indptr[r],
      unknownRows,
      tally,
      opts,
      k,
    );
  }

  /** Fold-in: top-k for each row of `inputs` (new or known users), given their items. */
  async recommend(inputs: Interactions, opts?: RecommendOptions): Promise<Recommendations> {
    if (!(inputs instanceof Interactions)) throw new InputError('inputs must be Interactions');
    const tally = { ignore: unknownPolicy(opts?.unknown) === 'ignore', ids: 0 };
    let aligned = inputs;
    if (inputs.itemIds !== this.itemIds) {
      const a = inputs.alignItems(this.itemIds);
      if (a.droppedInteractions > 0 && !tally.ignore) {
        const p = Array.from(inputs.indices).findIndex((i) => this.itemIds.index(inputs.itemIds.id(i)) === undefined);
        const row = inputs.indptr.findIndex((end) => end > p) - 1;
        throw new InputError(`unknown item id ${JSON.stringify(inputs.itemIds.id(inputs.indices[p]))} in inputs row ${row} (unknown: 'ignore' drops such items)`);
      }
      tally.ids += a.droppedInteractions;
      aligned = a.data;
    }
    return this.topk(aligned.csr(), opts, tally);
  }

  /**
   * Top-k for users seen in training, by external user id, from their training history. With
   * `unknown: 'ignore'`, an unknown user's row is served as a visitor with no history.
   */
  async recommendUsers(users: readonly ExternalId[], opts?: RecommendOptions): Promise<Recommendations> {
    if (!Array.isArray(users)) throw new InputError('users must be an array of user ids');
    if (!this.history) throw new InputError('this model was saved without training history; use recommendItems() with each user\'s items');
    const history = this.history;
    const tally = { ignore: unknownPolicy(opts?.unknown) === 'ignore', ids: 0 };
    const known = history.userIds.indicesOf(users, 'user', 'users', tally.ignore);
    const unknownRows = splitUnknown(known);
    // Unknown rows are empty: the fallback serves them. Models with per-user parameters (MF) score
    // the others by their learned user vectors.
    const csr = history.rowsCsr(known);
    const inputs = unknownRows.length ? withEmptyRows(csr, new Set(unknownRows)) : csr;
    return this.topk(inputs, opts, tally, unknownRows, known);
  }

  /** Top-k for new users, each given as a list of external item ids. */
  async recommendItems(itemLists: readonly (readonly ExternalId[])[], opts?: RecommendOptions): Promise<Recommendations> {
    if (!Array.isArray(itemLists)) throw new InputError('itemLists must be an array of arrays of item ids');
    const tally = { ignore: unknownPolicy(opts?.unknown) === 'ignore', ids: 0 };
    return this.topk(rowsFromIds(itemLists, this.itemIds, 'itemLists', tally), opts, tally);
  }

  /** The k items most similar to each given item by the model's item-item relation. */
  async similarItems(items: readonly ExternalId[], opts?: RecommendOptions): Promise<Recommendations> {
    if (!Array.isArray(items)) throw new InputError('items must be an array of item ids');
    const handle = this.nativeHandle();
    const k = checkK(opts?.k, this.numItems - 1 || 1);
    const tally = { ignore: unknownPolicy(opts?.unknown) === 'ignore', ids: 0 };
    const query = this.itemIds.indicesOf(items, 'item', 'items', tally.ignore);
    const unknownRows = splitUnknown(query);
    const unknown = new Set(unknownRows);
    return this.finish(
      (o) => runServing(query.length, opts, (job) => native().similarItems(handle, query, o, job)),
      query.length,
      (r) => unknown.has(r),
      unknownRows,
      tally,
      opts,
      k,
    );
  }

  /**
   * Top-k for every training user, or for `opts.users` (any iterable or async iterable of ids), as
   * an async iterable of batches of `batchSize` users; memory holds two batches at a time.
   */
  recommendAll(opts?: RecommendAllOptions): AsyncGenerator<RecommendationBatch> {
    return recommendAll(this, opts);
  }

  /** Dense scores (rows x items, row-major) for each row of `inputs`; for small batches. */
  async score(inputs: Interactions, opts?: RunOptions): Promise<Float32Array> {
    if (!(inputs instanceof Interactions)) throw new InputError('inputs must be Interactions');
    const handle = this.nativeHandle();
    const aligned = inputs.itemIds === this.itemIds ? inputs : inputs.alignItems(this.itemIds).data;
    return runNative(opts, (job) => native().score(handle, aligned.csr(), job));
  }

  /** Hyper-parameters recorded in the model file. */
  protected abstract params(): Record<string, unknown>;
  /** The model's own arrays, by section name. */
  protected abstract modelSections(): [string, SectionData][];

  /** Saves atomically in the cfkit model format (see io/container). */
  async save(file: string): Promise<void> {
    this.nativeHandle();
    const sections: [string, SectionData | unknown][] = [...this.modelSections(), ['itemIds', this.itemIds.toArray()], ['popularity', this.popularity]];
    if (this.history) {
      sections.push(
        ['history.indptr', this.history.indptr],
        ['history.indices', this.history.indices],
        ['history.values', this.history.values],
        ['history.userIds', this.history.userIds.toArray()],
      );
    }
    await writeModelFile(file, { type: this.type, cfkitVersion: version, params: this.params(), meta: { savedAt: new Date().toISOString() } }, sections);
  }
}

/** An id-list section as an IdMap: E_FORMAT when it is missing, holds anything but strings and numbers, or repeats an id. */
export function idMapSection(file: ModelFile, name: string, path: string): IdMap {
  const ids = file.sections.get(name);
  if (!Array.isArray(ids) || !ids.every((x) => typeof x === 'string' || typeof x === 'number'))
    throw new FormatError(`${path}: section '${name}' is missing or malformed`, { path });
  try {
    return IdMap.from(ids as ExternalId[]);
  } catch (err) {
    throw new FormatError(`${path}: section '${name}': ${(err as Error).message}`, { path });
  }
}

/** The user ids and factor count of a factor model's file (MatrixFactorization, ImplicitALS). */
export function factorModelSections(file: ModelFile, path: string): { userIds: IdMap; factors: number } {
  const factors = Number(file.params.factors);
  if (!Number.isInteger(factors) || factors < 1) throw new FormatError(`${path}: invalid factor count`, { path });
  return { userIds: idMapSection(file, 'userIds', path), factors };
}

/** Item ids, item popularity and optional training history back from a model file. */
export function commonSections(file: ModelFile, path: string): { itemIds: IdMap; history?: Interactions; popularity?: Int32Array } {
  const itemIds = idMapSection(file, 'itemIds', path);
  let popularity: Int32Array | undefined;
  if (file.sections.has('popularity')) {  // files written before it was saved have none
    popularity = section(file, 'popularity', Int32Array, path);
    if (popularity.length !== itemIds.size || popularity.some((c) => c < 0))
      throw new FormatError(`${path}: section 'popularity' does not hold one count per item`, { path });
  }
  if (!file.sections.has('history.indptr')) return { itemIds, popularity };
  const userIds = idMapSection(file, 'history.userIds', path);
  try {
    const history = Interactions.fromCsr({
      indptr: section(file, 'history.indptr', Int32Array, path),
      indices: section(file, 'history.indices', Int32Array, path),
      values: section(file, 'history.values', Float32Array, path),
      userIds,
      itemIds,
    });
    return { itemIds, history, popularity };
  } catch (err) {
    if (err instanceof FormatError) throw err;
    throw new FormatError(`${path}: training history is inconsistent: ${(err as Error).message}`, { path });
  }
}
