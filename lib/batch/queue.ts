/**
 * Scale-out of bulk exports over BullMQ on Redis: the users are cut into shards, one job each; any
 * number of workers, on any machines that can read the model and the output folder, export shards
 * to `DIR/shard-NNNNN.jsonl` atomically. A shard whose worker dies is retried by another (BullMQ's
 * stalled-job check), and a shard file is only ever renamed into place whole, so the folder ends
 * with every user exactly once. bullmq (with ioredis) is an optional dependency, loaded here only.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Job, Queue as BullQueue, Worker as BullWorker } from 'bullmq';
import { InputError } from '../errors';
import type { ExternalId } from '../data/idmap';
import { writeFileAtomic } from '../io/atomic';
import { sha256File } from '../io/hash';
import { load, Model } from '../models/load';
import { ExportFormat, exportRecommendations } from './export';
import { idsFromFile } from './ids';

type BullMQ = typeof import('bullmq');

async function bullmq(): Promise<BullMQ> {
  try {
    return await import('bullmq');
  } catch (err) {
    throw new InputError(`the batch queue needs the optional packages 'bullmq' and 'ioredis' (npm install bullmq ioredis): ${(err as Error).message}`);
  }
}

export const DEFAULT_QUEUE = 'cfkit-export';
export const DEFAULT_REDIS = 'redis://127.0.0.1:6379';

export interface QueueOptions {
  /** Redis URL. Default redis://127.0.0.1:6379. */
  redis?: string;
  /** BullMQ queue name. Default 'cfkit-export'. */
  queue?: string;
}

function connection(o: QueueOptions): { url: string; maxRetriesPerRequest: null } {
  const url = o.redis ?? DEFAULT_REDIS;
  if (!/^rediss?:\/\//.test(url)) throw new InputError(`redis must be a redis:// or rediss:// URL, got ${JSON.stringify(url)}`);
  // Workers block on Redis; BullMQ requires that commands are retried rather than failed.
  return { url, maxRetriesPerRequest: null };
}

function queueName(o: QueueOptions): string {
  const q = o.queue ?? DEFAULT_QUEUE;
  if (!/^[A-Za-z0-9_.-]{1,100}$/.test(q)) throw new InputError(`queue must be 1-100 letters, digits, '_', '.' or '-', got ${JSON.stringify(q)}`);
  return q;
}

/** What one job asks for: a shard of users, by training-history range or by id. */
export interface ShardJob {
  runId: string;
  shard: number;
  model: string;
  sha256: string;
  out: string;
  file: string;
  k: number;
  format: ExportFormat;
  unknown: 'error' | 'ignore';
  /** Training-history users [start, end), for `users: 'all'`. */
  range?: [number, number];
  /** Or the users themselves. */
  users?: ExternalId[];
}

export interface EnqueueOptions extends QueueOptions {
  /** The saved model; every worker must be able to read this path. */
  model: string;
  /** 'all' (default): every user of the model's training history; or a file of user ids, one per line. */
  users?: string;
  /** Users per shard (job). Default 10,000. */
  shardSize?: number;
  /** Output folder, shared by the workers. */
  out: string;
  k?: number;
  format?: ExportFormat;
  unknown?: 'error' | 'ignore';
  /** Tries per shard before it fails for good. Default 3. */
  attempts?: number;
}

export interface Manifest {
  runId: string;
  queue: string;
  model: string;
  sha256: string;
  users: number;
  shards: number;
  shardSize: number;
  k: number;
  format: ExportFormat;
  files: string[];
  createdAt: string;
}

export const shardFile = (shard: number, format: ExportFormat): string => `shard-${String(shard).padStart(5, '0')}.${format}`;

function positiveInt(v: number | undefined, name: string, fallback: number, max: number): number {
  const x = v ?? fallback;
  if (!Number.isInteger(x) || x < 1 || x > max) throw new InputError(`${name} must be an integer in [1, ${max}], got ${String(v)}`);
  return x;
}

/**
 * Splits the users into shards and adds one job per shard. The run id is a hash of the model's
 * checksum and the options, and job ids derive from it, so enqueueing the same export twice adds
 * nothing new. Writes DIR/manifest.json, which `exportStatus` reads.
 */
export async function enqueueExport(opts: EnqueueOptions): Promise<Manifest> {
  const shardSize = positiveInt(opts.shardSize, 'shardSize', 10_000, 1_000_000);
  const attempts = positiveInt(opts.attempts, 'attempts', 3, 100);
  const k = positiveInt(opts.k, 'k', 10, 100_000);
  const format = opts.format ?? 'jsonl';
  if (format !== 'jsonl' && format !== 'csv') throw new InputError(`format must be 'jsonl' or 'csv', got ${JSON.stringify(format)}`);
  const unknown = opts.unknown ?? 'error';
  if (typeof opts.out !== 'string' || !opts.out) throw new InputError('out must be a folder');
  const name = queueName(opts);
  const conn = connection(opts);
  const { Queue } = await bullmq();
  const model = path.resolve(opts.model);
  const out = path.resolve(opts.out);
  const sha256 = await sha256File(model);
  const m = await load(model);
  const base = { model, sha256, out, k, format, unknown } as const;
  const shards: Omit<ShardJob, 'runId' | 'shard' | 'file'>[] = [];
  let users = 0;
  try {
    if ((opts.users ?? 'all') === 'all') {
      if (!m.history) throw new InputError(`${opts.model} was saved without training history: give a users file`);
      users = m.history.numUsers;
      for (let s = 0; s < users; s += shardSize) shards.push({ ...base, range: [s, Math.min(users, s + shardSize)] });
    } else {
      let batch: ExternalId[] = [];
      for await (const id of idsFromFile(opts.users!, m.history?.userIds)) {
        batch.push(id);
        if (batch.length === shardSize) (shards.push({ ...base, users: batch }), (batch = []));
        users++;
      }
      if (batch.length) shards.push({ ...base, users: batch });
    }
  } finally {
    m.dispose();
  }
  const runId = createHash('sha256')
    .update(JSON.stringify({ sha256, users: opts.users ?? 'all', shardSize, k, format, unknown, out, n: users }))
    .digest('hex')
    .slice(0, 16);
  await fs.promises.mkdir(out, { recursive: true });
  const files = shards.map((_, i) => shardFile(i, format));
  const manifest: Manifest = { runId, queue: name, model, sha256, users, shards: shards.length, shardSize, k, format, files, createdAt: new Date().toISOString() };
  await writeFileAtomic(path.join(out, 'manifest.json'), async (fd) => void (await fd.writeFile(JSON.stringify(manifest, null, 2) + '\n')));
  const queue = new Queue(name, { connection: conn });
  try {
    for (let i = 0; i < shards.length; i += 500) {
      await queue.addBulk(
        shards.slice(i, i + 500).map((s, j) => {
          const shard = i + j;
          const data: ShardJob = { ...s, runId, shard, file: files[shard] };
          return { name: 'shard', data, opts: { jobId: `${runId}-${shard}`, attempts, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: false, removeOnFail: false } };
        }),
      );
    }
  } finally {
    await queue.close();
  }
  return manifest;
}

export interface WorkerOptions extends QueueOptions {
  /** Shards processed at once by this worker. Default 1 (each shard already uses `threads`). */
  concurrency?: number;
  /** Threads per shard's native calls. Default: all CPUs. */
  threads?: number;
  /** Users per native call within a shard. Default 1024. */
  batchSize?: number;
  /** Milliseconds a shard's lock lasts without renewal; a dead worker's shard is retried after it. Default 30,000. */
  lockDuration?: number;
  /** Milliseconds between checks for stalled shards. Default: the lock duration, at most 30,000. */
  stalledInterval?: number;
  /** Called after each shard this worker writes. */
  onShard?: (done: { shard: number; users: number; seconds: number; file: string }) => void;
}

export interface ExportWorker {
  /** Finishes the shards in hand, then stops taking new ones and releases the models. */
  close(): Promise<void>;
  readonly worker: BullWorker;
}

/** Models by path and checksum, loaded once per worker. */
class ModelCache {
  private models = new Map<string, Promise<Model>>();

  async get(file: string, sha256: string): Promise<Model> {
    const key = `${file}\0${sha256}`;
    let m = this.models.get(key);
    if (!m) {
      m = (async () => {
        const actual = await sha256File(file);
        if (actual !== sha256) throw new InputError(`${file} changed since the export was enqueued (sha256 ${actual.slice(0, 12)}…, expected ${sha256.slice(0, 12)}…)`);
        return load(file);
      })();
      this.models.set(key, m);
      m.catch(() => this.models.delete(key));
      // A new checksum for a path retires the models of its old ones.
      for (const [k, old] of this.models)
        if (k !== key && k.startsWith(`${file}\0`)) {
          this.models.delete(k);
          old.then((x) => x.dispose(), () => undefined);
        }
    }
    return m;
  }

  async dispose(): Promise<void> {
    for (const m of this.models.values()) await m.then((x) => x.dispose(), () => undefined);
    this.models.clear();
  }
}

/** Starts a worker that exports shards until close(). */
export async function startExportWorker(opts: WorkerOptions = {}): Promise<ExportWorker> {
  const concurrency = positiveInt(opts.concurrency, 'concurrency', 1, 1024);
  const lockDuration = positiveInt(opts.lockDuration, 'lockDuration', 30_000, 3_600_000);
  const stalledInterval = positiveInt(opts.stalledInterval, 'stalledInterval', Math.min(30_000, lockDuration), 3_600_000);
  const { Worker } = await bullmq();
  const models = new ModelCache();
  const processor = async (job: Job<ShardJob>) => {
    const d = job.data;
    const model = await models.get(d.model, d.sha256);
    let users: ExternalId[];
    if (d.range) {
      const history = model.history;
      if (!history || d.range[1] > history.numUsers) throw new InputError(`shard ${d.shard}: the model has no training users ${d.range[0]}..${d.range[1] - 1}`);
      users = [];
      for (let u = d.range[0]; u < d.range[1]; u++) users.push(history.userIds.id(u));
    } else users = d.users ?? [];
    const file = path.join(d.out, d.file);
    const summary = await exportRecommendations(model, file, { users, k: d.k, format: d.format, unknown: d.unknown, threads: opts.threads, batchSize: opts.batchSize });
    opts.onShard?.({ shard: d.shard, users: summary.users, seconds: summary.seconds, file });
    return { users: summary.users, seconds: summary.seconds, worker: `${os.hostname()}:${process.pid}` };
  };
  const worker = new Worker<ShardJob>(queueName(opts), processor, {
    connection: connection(opts),
    concurrency,
    lockDuration,
    stalledInterval,
    // A shard may be picked up again after its worker died this many times before it fails.
    maxStalledCount: 3,
  });
  await worker.waitUntilReady();
  return {
    worker,
    async close() {
      await worker.close();
      await models.dispose();
    },
  };
}

export interface ExportStatus {
  queue: string;
  counts: { waiting: number; active: number; completed: number; failed: number; delayed: number };
  /** Tries beyond the first, over all shards (a failed try, or a dead worker's shard picked up again). */
  retries: number;
  /** Times a shard's worker stopped renewing its lock (died or hung) and the shard went back to the queue. */
  stalls: number;
  failures: { shard: number; attempts: number; reason: string }[];
  /** With `out`: the run's manifest, and how many of its shard files are in place. */
  manifest?: Manifest;
  shardsWritten?: number;
  done: boolean;
}

/** Progress of the queue, and with `out`, of one run's files. */
export async function exportStatus(opts: QueueOptions & { out?: string } = {}): Promise<ExportStatus> {
  const name = queueName(opts);
  const { Queue } = await bullmq();
  let manifest: Manifest | undefined;
  if (opts.out) {
    const text = await fs.promises.readFile(path.join(opts.out, 'manifest.json'), 'utf8').catch(() => {
      throw new InputError(`${opts.out} has no manifest.json: enqueue an export into it first`);
    });
    manifest = JSON.parse(text) as Manifest;
  }
  const queue: BullQueue = new Queue(name, { connection: connection(opts) });
  try {
    const c = await queue.getJobCounts('waiting', 'active', 'completed', 'failed', 'delayed', 'prioritized');
    const counts = { waiting: (c.waiting ?? 0) + (c.prioritized ?? 0), active: c.active ?? 0, completed: c.completed ?? 0, failed: c.failed ?? 0, delayed: c.delayed ?? 0 };
    let retries = 0;
    let stalls = 0;
    const failures: ExportStatus['failures'] = [];
    for (const state of ['completed', 'active', 'waiting', 'delayed', 'failed'] as const) {
      for (let start = 0; ; start += 1000) {
        const jobs = (await queue.getJobs([state], start, start + 999)) as (Job<ShardJob> | undefined)[];
        for (const job of jobs) {
          if (!job || (manifest && job.data.runId !== manifest.runId)) continue;
          retries += Math.max(0, (job.attemptsStarted ?? 0) - 1);
          stalls += job.stalledCounter ?? 0;
          if (state === 'failed') failures.push({ shard: job.data.shard, attempts: job.attemptsMade, reason: job.failedReason });
        }
        if (jobs.length < 1000) break;
      }
    }
    let shardsWritten: number | undefined;
    if (manifest) {
      const present = new Set(await fs.promises.readdir(opts.out!));
      shardsWritten = manifest.files.filter((f) => present.has(f)).length;
    }
    const done = manifest ? shardsWritten === manifest.shards : counts.waiting + counts.active + counts.delayed === 0;
    return { queue: name, counts, retries, stalls, failures, manifest, shardsWritten, done };
  } finally {
    await queue.close();
  }
}
