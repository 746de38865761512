/** Options every long-running call accepts, and the one place they are turned into a native job. */
import * as os from 'node:os';
import { AbortError, fromNative, InputError } from './errors';
import { native, NativeJobOptions, NativeProgress } from './native';

export interface ProgressEvent {
  /** Stage name, e.g. 'gram', 'factorize', 'invert', 'weights', 'evaluate'. */
  stage: string;
  /** Progress within the stage, 0..1. */
  fraction: number;
  /** Training loss for stages that have one (SANSA: UMR loss; MF: training RMSE). */
  loss?: number;
  /** MF epoch figures: epoch number, RMSEs, seconds, learning rate, MASCOT switches, active factors. */
  epoch?: number;
  trainRmse?: number;
  validRmse?: number;
  seconds?: number;
  lr?: number;
  groupsSwitched?: number;
  activeFactors?: number;
  /** DISTILL-CF: step number, λ in use, and the validation HR@100 at evaluation steps. */
  step?: number;
  lambda?: number;
  validationHr100?: number;
  /** Bulk export: users done so far, and how many in all when that is known. */
  done?: number;
  total?: number;
}

export interface RunOptions {
  /** Worker threads for native loops and BLAS. Default: the number of available CPUs. */
  threads?: number;
  /** Stops the work; the promise then rejects with AbortError. */
  signal?: AbortSignal;
  onProgress?: (event: ProgressEvent) => void;
}

export function resolveThreads(threads: number | undefined): number {
  if (threads === undefined) return Math.max(1, os.availableParallelism());
  if (!Number.isInteger(threads) || threads < 1 || threads > 1024)
    throw new InputError(`threads must be an integer in [1, 1024], got ${String(threads)}`);
  return threads;
}

/**
 * Runs a native job with the caller's threads, progress callback and AbortSignal. A throwing progress
 * callback never kills the job: its error is re-raised as a process warning.
 */
export async function runNative<T>(opts: RunOptions | undefined, start: (job: NativeJobOptions) => Promise<T>, inline = false): Promise<T> {
  const threads = resolveThreads(opts?.threads);
  const signal = opts?.signal;
  if (signal?.aborted) throw new AbortError('the operation was aborted before it started', { cause: signal.reason });
  // A call without a signal cannot be aborted, so it needs no flag (serving calls, thousands a second).
  const flag = signal ? new (native().AbortFlag)() : undefined;
  const onAbort = () => flag?.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  const user = opts?.onProgress;
  const onProgress = user
    ? (p: NativeProgress) => {
        try {
          user(p.loss === undefined ? { stage: p.stage, fraction: p.fraction } : ({ ...p } as ProgressEvent));
        } catch (err) {
          process.emitWarning(`cfkit: onProgress callback threw: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
    : undefined;
  try {
    return await start({ threads, abort: flag, onProgress, inline });
  } catch (err) {
    const e = fromNative(err);
    if (e instanceof AbortError && signal?.aborted) throw new AbortError(e.message, { cause: signal.reason });
    throw e;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}
