/** Progress printing for the CLI and for `onProgress` users: bars, plain log lines, or JSON lines. */
import * as cliProgress from 'cli-progress';
import { InputError } from './errors';
import type { ProgressEvent } from './job';

export type ProgressFormat = 'auto' | 'bar' | 'plain' | 'json' | 'none';
export const PROGRESS_FORMATS: readonly ProgressFormat[] = ['auto', 'bar', 'plain', 'json', 'none'];

export interface ProgressPrinter {
  /** Pass as `onProgress`. */
  onProgress: (event: ProgressEvent) => void;
  /** Ends the current stage (a bar completes; plain prints the stage's last line if it had not). */
  stop(): void;
}

export interface ProgressPrinterOptions {
  /** Where to print. Default process.stderr. */
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Milliseconds clock; for tests. Default performance.now. */
  now?: () => number;
}

function seconds(ms: number): string {
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m${String(Math.round(s - 60 * m)).padStart(2, '0')}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

// The figures an event carries besides its stage and fraction, for plain lines.
function details(e: ProgressEvent): string {
  const parts: string[] = [];
  if (e.done !== undefined) parts.push(e.total !== undefined ? `${e.done}/${e.total}` : `${e.done}`);
  if (e.epoch !== undefined) parts.push(`epoch ${e.epoch}`);
  if (e.step !== undefined) parts.push(`step ${e.step}`);
  if (e.loss !== undefined) parts.push(`loss ${e.loss.toPrecision(4)}`);
  if (e.trainRmse !== undefined) parts.push(`train RMSE ${e.trainRmse.toFixed(4)}`);
  if (e.validRmse !== undefined) parts.push(`valid RMSE ${e.validRmse.toFixed(4)}`);
  if (e.validationHr100 !== undefined) parts.push(`HR@100 ${e.validationHr100.toFixed(4)}`);
  return parts.length ? `  ${parts.join(', ')}` : '';
}

function plain(stream: NodeJS.WritableStream, now: () => number): ProgressPrinter {
  const t0 = now();
  let stage = '';
  let stageStart = t0;
  let lastTime = t0;  // a stage starts when the one before it last reported
  let tenth = -1;  // the last tenth printed for this stage
  let last: ProgressEvent | undefined;
  const line = (e: ProgressEvent) => {
    const t = lastTime;
    const f = Math.min(1, Math.max(0, e.fraction));
    const elapsed = t - stageStart;
    const eta = f > 0 && f < 1 ? `  eta ${seconds((elapsed * (1 - f)) / f)}` : '';
    stream.write(`[${seconds(t - t0).padStart(6)}] ${e.stage} ${String(Math.floor(f * 100)).padStart(3)}%${eta}${details(e)}\n`);
    tenth = Math.floor(f * 10);
  };
  const finish = () => {
    if (last && tenth < 10 && last.fraction >= 1) line(last);
  };
  return {
    onProgress(e) {
      const t = now();
      if (e.stage !== stage) {
        finish();
        stage = e.stage;
        stageStart = lastTime;
        lastTime = t;
        tenth = -1;
        last = e;
        line(e);
        return;
      }
      last = e;
      lastTime = t;
      if (Math.floor(Math.min(1, e.fraction) * 10) > tenth) line(e);
    },
    stop() {
      finish();
      stage = '';
    },
  };
}

function json(stream: NodeJS.WritableStream, now: () => number): ProgressPrinter {
  const t0 = now();
  let stage = '';
  let lastFraction = -1;
  let lastTime = -Infinity;
  return {
    // Events that say something new: a stage's first and last, an epoch or step, or 1 % or 1 s on
    // (native stages report per block of work, thousands of times on large data).
    onProgress(e) {
      const t = now();
      const news = e.stage !== stage || e.fraction >= 1 || e.epoch !== undefined || e.step !== undefined || e.done !== undefined;
      if (!news && e.fraction - lastFraction < 0.01 && t - lastTime < 1000) return;
      stage = e.stage;
      lastFraction = e.fraction;
      lastTime = t;
      stream.write(JSON.stringify({ time: Number(((t - t0) / 1000).toFixed(3)), ...e }) + '\n');
    },
    stop() {},
  };
}

function bar(stream: NodeJS.WritableStream): ProgressPrinter {
  let current: cliProgress.SingleBar | undefined;
  let stage = '';
  const stop = () => {
    current?.update(100);
    current?.stop();
    current = undefined;
    stage = '';
  };
  return {
    onProgress(e) {
      if (e.stage !== stage) {
        stop();
        stage = e.stage;
        current = new cliProgress.SingleBar(
          { format: ` {stage} [{bar}] {percentage}%{details}`, stream, hideCursor: true, clearOnComplete: false },
          cliProgress.Presets.shades_classic,
        );
        current.start(100, 0, { stage: stage.padEnd(10), details: '' });
      }
      current?.update(Math.round(Math.min(1, e.fraction) * 100), { stage: stage.padEnd(10), details: details(e) });
    },
    stop,
  };
}

/**
 * A progress printer. 'bar': a bar per stage (for terminals). 'plain': a line per stage and per
 * 10 %, with the elapsed time, the stage's ETA and its figures (loss, epoch, users done). 'json':
 * one JSON object per event that says something new (a stage starts or ends, an epoch or step, or
 * 1 % or 1 s on), with `time` in seconds. 'auto': 'bar' on a TTY, else 'plain'. 'none': nothing.
 */
export function progressPrinter(format: ProgressFormat = 'auto', opts: ProgressPrinterOptions = {}): ProgressPrinter {
  if (!PROGRESS_FORMATS.includes(format)) throw new InputError(`progress format must be one of ${PROGRESS_FORMATS.join(', ')}, got ${JSON.stringify(format)}`);
  const stream = opts.stream ?? process.stderr;
  const now = opts.now ?? (() => performance.now());
  const f = format === 'auto' ? (stream.isTTY ? 'bar' : 'plain') : format;
  if (f === 'none') return { onProgress() {}, stop() {} };
  if (f === 'plain') return plain(stream, now);
  if (f === 'json') return json(stream, now);
  return bar(stream);
}
