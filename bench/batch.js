#!/usr/bin/env node
// Bulk export benchmark: every Gowalla training user (29,858) at k = 20 from a SANSA model (ICF,
// λ 200, density 5e-4, as bench/serve.js), written as JSON lines by exportRecommendations, on 1 and
// 2 threads. Each run is its own child process that loads the saved model and exports; users/s is
// the median of --repeat runs, and peak RSS is the child's (so the export's bound shows against a
// child that only loads). Then, when redis-server is installed, the same export over BullMQ: 1
// worker of 2 threads against 2 workers of 1 thread (`cfkit batch work`), shards of 5,000 users,
// timed from the workers' start to the last shard file. Writes bench/results/batch.json.
//
//   node bench/batch.js [--repeat 3] [--batch-size 1024] [--model FILE] [--no-queue]
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { root, dataDir, opt, flag, machine, median, runChild, childConfig, writeResults, runMain } = require('./common');

const TRAIN = path.join(dataDir, 'gowalla-lightgcn', 'train.txt');
const SANSA = { factorizer: 'icf', l2: 200, density: 5e-4 };

async function child(cfg) {
  const c = require(path.join(root, 'dist'));
  if (cfg.fit) {
    const train = await c.Interactions.fromFile(TRAIN);
    const model = await c.SANSA.fit(train, { ...SANSA, threads: cfg.threads });
    await model.save(cfg.model);
    model.dispose();
    return {};
  }
  const model = await c.load(cfg.model);
  const afterLoad = process.memoryUsage().rss;
  if (cfg.loadOnly) return { rssMiB: afterLoad / 2 ** 20, peakRssMiB: process.resourceUsage().maxRSS / 1024 };
  const out = path.join(cfg.dir, `recs-${cfg.threads}.jsonl`);
  const t0 = performance.now();
  const summary = await c.exportRecommendations(model, out, { k: 20, threads: cfg.threads, batchSize: cfg.batchSize });
  const seconds = (performance.now() - t0) / 1000;
  const bytes = fs.statSync(out).size;
  fs.unlinkSync(out);
  model.dispose();
  return { users: summary.users, seconds, usersPerSecond: summary.users / seconds, bytes, peakRssMiB: process.resourceUsage().maxRSS / 1024, rssAfterLoadMiB: afterLoad / 2 ** 20 };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// Users/s of the whole export through BullMQ with `workers` processes of `threads` threads each.
async function queueRun(redis, model, dir, workers, threads) {
  const { enqueueExport, exportStatus } = require(path.join(root, 'dist', 'batch'));
  const out = path.join(dir, `queue-${workers}`);
  const queue = `bench-${process.pid}-${workers}`;
  const manifest = await enqueueExport({ redis, queue, model, out, shardSize: 5000, k: 20 });
  const cli = path.join(root, 'dist', 'cli', 'main.js');
  const t0 = performance.now();
  const procs = Array.from({ length: workers }, () =>
    spawn(process.execPath, [cli, 'batch', 'work', '--redis', redis, '--queue', queue, '--threads', String(threads)], { stdio: 'ignore' }),
  );
  try {
    while (!(await exportStatus({ redis, queue, out })).done) await sleep(20);
  } finally {
    for (const p of procs) p.kill('SIGTERM');
  }
  const seconds = (performance.now() - t0) / 1000;
  fs.rmSync(out, { recursive: true, force: true });
  return { workers, threadsPerWorker: threads, shards: manifest.shards, shardSize: 5000, seconds, usersPerSecond: manifest.users / seconds };
}

async function queueRuns(model, dir) {
  if (flag('--no-queue') || spawnSync('redis-server', ['--version']).status !== 0) return { skipped: 'redis-server is not installed (or --no-queue)' };
  const port = await freePort();
  const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  await sleep(300);
  try {
    const redis = `redis://127.0.0.1:${port}`;
    const runs = [];
    for (const [workers, threads] of [[1, 2], [2, 1]]) {
      const r = await queueRun(redis, model, dir, workers, threads);
      console.error(`BullMQ, ${workers} worker(s) x ${threads} thread(s): ${r.usersPerSecond.toFixed(0)} users/s`);
      runs.push(r);
    }
    return { runs, note: 'from the workers\' start (model loading included) to the last shard file; redis-server on 127.0.0.1' };
  } finally {
    server.kill('SIGTERM');
  }
}

async function main() {
  const cfg = childConfig();
  if (cfg) {
    process.stdout.write(JSON.stringify(await child(cfg)));
    return;
  }
  if (!fs.existsSync(TRAIN)) {
    console.error(`skipped: ${TRAIN} is not here (see ../shared/data/README.md)`);
    return;
  }
  const repeat = Number(opt('--repeat', '3'));
  const batchSize = Number(opt('--batch-size', '1024'));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfkit-batch-'));
  const model = opt('--model', path.join(dir, 'sansa-gowalla.cfk'));
  try {
    if (!fs.existsSync(model)) {
      console.error(`fitting SANSA on Gowalla (${JSON.stringify(SANSA)}) ...`);
      const r = runChild(__filename, { fit: true, model, threads: 2 });
      if (r.error) throw new Error(r.error);
    }
    const load = runChild(__filename, { model, loadOnly: true, threads: 1 });
    const runs = [];
    for (const threads of [1, 2]) {
      const times = [];
      for (let i = 0; i < repeat; i++) {
        const r = runChild(__filename, { model, dir, threads, batchSize });
        if (r.error) throw new Error(r.error);
        times.push(r);
        console.error(`threads ${threads}: ${r.usersPerSecond.toFixed(0)} users/s, peak RSS ${r.peakRssMiB.toFixed(0)} MiB`);
      }
      const usersPerSecond = median(times.map((t) => t.usersPerSecond));
      runs.push({ threads, usersPerSecond, usersPerSecondRuns: times.map((t) => t.usersPerSecond), users: times[0].users, bytes: times[0].bytes, peakRssMiB: median(times.map((t) => t.peakRssMiB)) });
    }
    const queue = await queueRuns(model, dir);
    writeResults('batch', {
      machine: machine(),
      date: new Date().toISOString(),
      command: `node bench/batch.js --repeat ${repeat} --batch-size ${batchSize}`,
      dataset: 'gowalla-lightgcn/train.txt',
      model: { type: 'sansa', ...SANSA, fileBytes: fs.statSync(model).size },
      export: { format: 'jsonl', k: 20, batchSize },
      loadOnlyPeakRssMiB: load.peakRssMiB,
      runs,
      queue,
      target: { usersPerSecond: 5000, threads: 2, met: runs.find((r) => r.threads === 2).usersPerSecond >= 5000 },
    });
  } finally {
    if (!opt('--model')) fs.rmSync(dir, { recursive: true, force: true });
  }
}

runMain(main);
