/**
 * Top-k for every training user (or a stream of users) in bounded batches: the model method behind
 * `recommendAll()` and the bulk export in batch/export.ts.
 */
import { AbortError, InputError } from '../errors';
import type { ExternalId } from '../data/idmap';
import type { ProgressEvent } from '../job';
import type { RecommendOptions, Recommendations, Recommender } from './recommender';

export interface RecommendAllOptions extends Omit<RecommendOptions, 'onProgress'> {
  /**
   * The users, by external id: an array, any iterable, or an async iterable (a file read line by
   * line), consumed one batch at a time. Default: every user of the training history, in order.
   */
  users?: Iterable<ExternalId> | AsyncIterable<ExternalId>;
  /** Users per native call. Default 1024. Memory holds two batches: the one yielded and the next. */
  batchSize?: number;
  /** Stage 'export' after each batch, with `done` users and `total` when it is known. */
  onProgress?: (event: ProgressEvent) => void;
}

export interface RecommendationBatch {
  /** External user ids of this batch's rows. */
  users: ExternalId[];
  /** Row r holds users[r]'s items and scores. */
  recommendations: Recommendations;
  /** Users yielded so far, this batch included. */
  done: number;
}

export const DEFAULT_BATCH_SIZE = 1024;

function checkBatchSize(n: number | undefined): number {
  const b = n ?? DEFAULT_BATCH_SIZE;
  if (!Number.isInteger(b) || b < 1 || b > 1 << 20) throw new InputError(`batchSize must be an integer in [1, 1048576], got ${String(n)}`);
  return b;
}

async function* chunks(users: Iterable<ExternalId> | AsyncIterable<ExternalId>, size: number): AsyncGenerator<ExternalId[]> {
  let batch: ExternalId[] = [];
  for await (const u of users as AsyncIterable<ExternalId>) {
    batch.push(u);
    if (batch.length === size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length) yield batch;
}

function* historyUsers(model: Recommender, size: number): Generator<ExternalId[]> {
  const history = model.history;
  if (!history) throw new InputError("this model was saved without training history: give `users` and recommend with each user's items instead");
  for (let start = 0; start < history.numUsers; start += size) {
    const end = Math.min(history.numUsers, start + size);
    const ids: ExternalId[] = new Array(end - start);
    for (let u = start; u < end; u++) ids[u - start] = history.userIds.id(u);
    yield ids;
  }
}

function totalOf(model: Recommender, users: RecommendAllOptions['users']): number | undefined {
  if (users === undefined) return model.history?.numUsers;
  return Array.isArray(users) ? users.length : undefined;
}

/**
 * Top-k for every user in batches. While the caller handles one batch, the next is computed, so
 * native scoring overlaps formatting and writing; memory stays at two batches whatever the count.
 */
export async function* recommendAll(model: Recommender, opts: RecommendAllOptions = {}): AsyncGenerator<RecommendationBatch> {
  const size = checkBatchSize(opts.batchSize);
  const { users, batchSize: _b, onProgress, ...request } = opts;
  if (users !== undefined && (users === null || typeof (users as Iterable<ExternalId>)[Symbol.iterator] !== 'function') && typeof (users as AsyncIterable<ExternalId>)[Symbol.asyncIterator] !== 'function')
    throw new InputError('users must be an iterable or async iterable of user ids');
  model.nativeHandle();  // DisposedError before any work
  const total = totalOf(model, users);
  const source: AsyncIterator<ExternalId[]> | Iterator<ExternalId[]> = users === undefined ? historyUsers(model, size) : chunks(users, size);
  const signal = opts.signal;
  const checkAbort = () => {
    if (signal?.aborted) throw new AbortError('the export was aborted', { cause: signal.reason });
  };
  const start = async (): Promise<RecommendationBatch | undefined> => {
    checkAbort();
    const next = await source.next();
    if (next.done) return undefined;
    return { users: next.value, recommendations: await model.recommendUsers(next.value, request), done: 0 };
  };
  let done = 0;
  let pending = start();
  try {
    for (;;) {
      const batch = await pending;
      if (!batch) return;
      checkAbort();  // the batch computed ahead is not handed out after an abort
      pending = start();
      pending.catch(() => undefined);  // surfaced when awaited; never unhandled if the caller stops
      done += batch.users.length;
      batch.done = done;
      if (onProgress) {
        try {
          onProgress({ stage: 'export', fraction: total ? done / total : 0, done, total });
        } catch (err) {
          process.emitWarning(`cfkit: onProgress callback threw: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
      yield batch;
    }
  } finally {
    await pending.catch(() => undefined);
  }
}
