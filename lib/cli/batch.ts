/** `cfkit batch enqueue | work | status`: bulk export scaled out over BullMQ on Redis. */
import { Command, Option } from 'commander';
import { DEFAULT_QUEUE, DEFAULT_REDIS, enqueueExport, exportStatus, startExportWorker } from '../batch/queue';
import { int } from './options';

const common = (cmd: Command) =>
  cmd.option('--redis <url>', 'Redis URL', process.env.CFKIT_REDIS_URL ?? DEFAULT_REDIS).option('--queue <name>', 'BullMQ queue name', DEFAULT_QUEUE);

export function batchCommand(program: Command): void {
  const batch = program.command('batch').description('export recommendations for many users over BullMQ workers (needs the optional bullmq and ioredis)');

  common(batch.command('enqueue'))
    .description('split the users into shards, one job each, and write DIR/manifest.json')
    .requiredOption('--model <file>', 'a saved model, readable by every worker at this path')
    .option('--users <all|file>', "'all' training users, or a file of user ids one per line", 'all')
    .option('--shard-size <n>', 'users per shard', int, 10_000)
    .requiredOption('--out <dir>', 'output folder, shared by the workers')
    .option('-k, --k <n>', 'items per user', int, 10)
    .addOption(new Option('--format <format>', 'shard file format').choices(['jsonl', 'csv']).default('jsonl'))
    .addOption(new Option('--unknown <policy>', 'an unknown user id').choices(['error', 'ignore']).default('error'))
    .option('--attempts <n>', 'tries per shard', int, 3)
    .action(async (o) => {
      const m = await enqueueExport({ ...o, users: o.users });
      process.stdout.write(`run ${m.runId}: ${m.users} users in ${m.shards} shards on queue '${m.queue}'; files go to ${o.out}\n`);
    });

  common(batch.command('work'))
    .description('export shards until stopped (SIGINT or SIGTERM finishes the shard in hand)')
    .option('--concurrency <n>', 'shards at once', int, 1)
    .option('--threads <n>', 'threads per shard', int)
    .option('--batch-size <n>', 'users per native call', int)
    .option('--lock-ms <n>', "a shard's lock; a dead worker's shard is retried after it", int, 30_000)
    .option('--stalled-ms <n>', 'interval of the check for stalled shards', int)
    .action(async (o) => {
      const w = await startExportWorker({
        redis: o.redis,
        queue: o.queue,
        concurrency: o.concurrency,
        threads: o.threads,
        batchSize: o.batchSize,
        lockDuration: o.lockMs,
        stalledInterval: o.stalledMs,
        onShard: (s) => process.stderr.write(`shard ${s.shard}: ${s.users} users in ${s.seconds.toFixed(2)} s -> ${s.file}\n`),
      });
      w.worker.on('failed', (job, err) => process.stderr.write(`shard ${job?.data.shard ?? '?'} failed: ${err.message}\n`));
      process.stderr.write(`worker ${process.pid} on queue '${o.queue}' at ${o.redis}\n`);
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await w.close();
    });

  common(batch.command('status'))
    .description('progress, failures and retries of the queue, and of the run in --out')
    .option('--out <dir>', "the run's output folder")
    .option('--json', 'machine-readable output')
    .action(async (o) => {
      const s = await exportStatus({ redis: o.redis, queue: o.queue, out: o.out });
      if (o.json) {
        process.stdout.write(JSON.stringify({ ...s, manifest: s.manifest && { ...s.manifest, files: undefined } }, null, 2) + '\n');
        return;
      }
      const c = s.counts;
      const lines = [`queue '${s.queue}': ${c.completed} done, ${c.active} running, ${c.waiting} waiting, ${c.delayed} delayed, ${c.failed} failed; ${s.retries} retries, ${s.stalls} stalls`];
      if (s.manifest) lines.push(`run ${s.manifest.runId}: ${s.shardsWritten} of ${s.manifest.shards} shard files written (${s.manifest.users} users)${s.done ? ' - complete' : ''}`);
      for (const f of s.failures) lines.push(`  shard ${f.shard} failed after ${f.attempts} tries: ${f.reason}`);
      process.stdout.write(lines.join('\n') + '\n');
    });
}
