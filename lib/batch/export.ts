/** Bulk recommendations: every user (or a stream of users) in bounded batches, and their export. */
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { CfkitError, InputError } from '../errors';
import type { ExternalId } from '../data/idmap';
import { writeAll, writeFileAtomic } from '../io/atomic';
import type { Recommender } from '../models/recommender';
import { recommendAll, RecommendAllOptions, RecommendationBatch } from '../models/recommend-all';

export { recommendAll, DEFAULT_BATCH_SIZE } from '../models/recommend-all';
export type { RecommendAllOptions, RecommendationBatch } from '../models/recommend-all';

// ---------------------------------------------------------------------------------------------
// Formats

export type ExportFormat = 'jsonl' | 'csv';

const scratch = new Float32Array(1);

/** The shortest decimal that reads back as the same float32 (JSON's own would print the double). */
export function formatScore(x: number): string {
  if (!Number.isFinite(x)) return 'null';
  scratch[0] = x;
  const f = scratch[0];
  for (let p = 6; p < 9; p++) {
    const s = f.toPrecision(p);
    if (Math.fround(Number(s)) === f) return String(Number(s));
  }
  return String(Number(f.toPrecision(9)));
}

/** An id as a CSV field: quoted (with doubled quotes) when it holds a comma, a quote or a line break. */
export function csvField(id: ExternalId): string {
  const s = String(id);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** @internal A batch as text in the given format. */
export function formatBatch(batch: RecommendationBatch, format: ExportFormat | 'text'): string {
  const { users, recommendations: recs } = batch;
  const out: string[] = [];
  for (let r = 0; r < users.length; r++) {
    const items = recs.items(r);
    const scores = recs.scores;
    if (format === 'jsonl') {
      const s = items.map((_, j) => formatScore(scores[r * recs.k + j]));
      out.push(`{"user":${JSON.stringify(users[r])},"items":${JSON.stringify(items)},"scores":[${s.join(',')}]}\n`);
    } else if (format === 'csv') {
      const u = csvField(users[r]);
      for (let j = 0; j < items.length; j++) out.push(`${u},${j + 1},${csvField(items[j])},${formatScore(scores[r * recs.k + j])}\n`);
    } else out.push(`user ${users[r]}: ${items.join(', ')}\n`);
  }
  return out.join('');
}

export const CSV_HEADER = 'user,rank,item,score\n';

export interface ExportOptions extends RecommendAllOptions {
  /** 'jsonl' (default): one {"user","items","scores"} object per line. 'csv': user,rank,item,score rows under a header. */
  format?: ExportFormat;
}

export interface ExportSummary {
  users: number;
  bytes: number;
  /** Users served by the popularity fallback (no history, or unknown with `unknown: 'ignore'`). */
  fallbackUsers: number;
  /** Users that were unknown (with `unknown: 'ignore'`). */
  unknownUsers: number;
  seconds: number;
}

function checkFormat(format: unknown): ExportFormat {
  const f = format ?? 'jsonl';
  if (f !== 'jsonl' && f !== 'csv') throw new InputError(`format must be 'jsonl' or 'csv', got ${JSON.stringify(format)}`);
  return f;
}

/** @internal Writes every batch through `write`; the one loop behind both destinations. */
export async function exportBatches(
  model: Recommender,
  opts: RecommendAllOptions,
  format: ExportFormat | 'text',
  write: (text: string) => Promise<void>,
): Promise<ExportSummary> {
  const t0 = performance.now();
  const summary: ExportSummary = { users: 0, bytes: 0, fallbackUsers: 0, unknownUsers: 0, seconds: 0 };
  if (format === 'csv') {
    await write(CSV_HEADER);
    summary.bytes += CSV_HEADER.length;
  }
  for await (const batch of recommendAll(model, opts)) {
    const text = formatBatch(batch, format);
    await write(text);
    summary.users += batch.users.length;
    summary.bytes += Buffer.byteLength(text);
    summary.fallbackUsers += batch.recommendations.fallbackRows.length;
    summary.unknownUsers += batch.recommendations.unknownRows.length;
  }
  summary.seconds = (performance.now() - t0) / 1000;
  return summary;
}

/** Writes to a stream, waiting on 'drain'; rejects on the stream's error (a closed pipe: EPIPE). */
export function streamWriter(stream: Writable): (text: string) => Promise<void> {
  return async (text) => {
    if (stream.destroyed || stream.writableEnded) throw new CfkitError('E_IO', 'the destination stream is closed');
    let failed: Error | undefined;
    const onError = (err: Error) => (failed = err);
    stream.once('error', onError);
    try {
      if (!stream.write(text)) await Promise.race([once(stream, 'drain'), once(stream, 'close')]);
      if (failed) throw failed;
    } finally {
      stream.off('error', onError);
    }
  };
}

/**
 * Streams recommendations for every user (or `users`) to a file or a writable stream. A file is
 * written atomically: to a temporary file beside it, renamed over `destination` at the end, and
 * removed on any error or abort, so the destination holds either the old file or the whole export.
 * A stream is written with backpressure and left open.
 */
export async function exportRecommendations(model: Recommender, destination: string | Writable, opts: ExportOptions = {}): Promise<ExportSummary> {
  const { format, ...rest } = opts;
  const f = checkFormat(format);
  if (typeof destination === 'string') {
    let summary!: ExportSummary;
    await writeFileAtomic(destination, async (fd) => {
      // Small writes are gathered: one syscall per ~1 MiB.
      let pending: string[] = [];
      let size = 0;
      const flush = async () => {
        if (!pending.length) return;
        await writeAll(fd, Buffer.from(pending.join('')));
        pending = [];
        size = 0;
      };
      summary = await exportBatches(model, rest, f, async (text) => {
        pending.push(text);
        size += text.length;
        if (size >= 1 << 20) await flush();
      });
      await flush();
    });
    return summary;
  }
  if (!destination || typeof (destination as Writable).write !== 'function') throw new InputError('destination must be a file path or a writable stream');
  return exportBatches(model, rest, f, streamWriter(destination));
}
