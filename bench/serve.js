#!/usr/bin/env node
// Serving benchmark: load time and memory of a saved model, in-process single-user latency, and a
// bounded HTTP load test of examples/http-service (10 connections for 10 s on 127.0.0.1, a closed
// loop of GET /recommend?user=…&k=20). EASE on ML-1M and SANSA on Gowalla (40,981 items); and the
// cost of a 9,000-item ItemFilter on a generated 10,000-item model (no shared data needed).
// Writes bench/results/serve.json.   node bench/serve.js [--seconds 10] [--connections 10]
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { root, dataDir, opt, flag, machine, median, runChild, writeResults, runMain } = require('./common');

const CONFIGS = [
  { name: 'ease-ml1m', model: 'ease', data: 'ml-1m/ratings_no_ts.dat', options: { l2: 500 } },
  { name: 'sansa-gowalla', model: 'sansa', data: 'gowalla-lightgcn/train.txt', options: { l2: 200, density: 5e-4, factorizer: 'icf' } },
];

const percentile = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
};

// Microseconds of each of `calls` one-user calls, awaited one at a time; call i serves user(i).
async function timeCalls(model, calls, user, opts = {}) {
  const t = [];
  for (let i = 0; i < calls; i++) {
    const t0 = process.hrtime.bigint();
    await model.recommendUsers([user(i)], { k: 20, ...opts });
    t.push(Number(process.hrtime.bigint() - t0) / 1e3);
  }
  return t;
}

// Users spread over the whole list, the same sequence in every run.
const spread = (users) => (i) => users[(i * 7919) % users.length];

// Child: the memory one load() of the saved model adds, in a fresh process: RSS with cfkit and its
// addon loaded (the addon maps its libraries and BLAS once per process, whatever the model), then
// after load() and a full GC.
async function memoryChild(file) {
  const c = require(path.join(root, 'dist'));
  global.gc();
  const bare = process.memoryUsage().rss;
  c.backendInfo();
  global.gc();
  const baseline = process.memoryUsage().rss;
  const model = await c.load(file);
  global.gc();
  const afterLoad = process.memoryUsage().rss;
  model.dispose();
  const mib = (x) => x / 2 ** 20;
  process.stdout.write(JSON.stringify({ addonMiB: mib(baseline - bare), baseline: mib(baseline), afterLoad: mib(afterLoad) }));
}

// Child: what an ItemFilter costs a call. One user per call on a generated 10,000-item SANSA model,
// with no filter and with an ItemFilter of 9,000 items as `include`, interleaved in three rounds of
// 1,300 calls (the first 300 of each dropped); the p50 of each round, and their medians.
async function filterChild() {
  const c = require(path.join(root, 'dist'));
  const data = c.syntheticInteractions({ users: 20000, items: 10000, meanInteractions: 30, seed: 3 });
  const model = await c.SANSA.fit(data, { l2: 50, density: 1e-3 });
  const filter = c.ItemFilter.fromPredicate(model, (_id, i) => i % 10 !== 0);
  const users = data.userIds.toArray();
  const variants = { plain: {}, itemFilter: { include: filter } };
  const rounds = { plain: [], itemFilter: [] };
  for (let round = 0; round < 3; round++)
    for (const [name, extra] of Object.entries(variants)) {
      const t = await timeCalls(model, 1300, spread(users), extra);
      rounds[name].push(percentile(t.slice(300), 0.5));
    }
  model.dispose();
  const plainP50Us = median(rounds.plain);
  const itemFilterP50Us = median(rounds.itemFilter);
  process.stdout.write(
    JSON.stringify({ items: 10000, filterItems: filter.size, plainP50Us, itemFilterP50Us, addedUs: itemFilterP50Us - plainP50Us, rounds }),
  );
}

// Child: fits and saves the model, then measures loading and in-process latency.
async function child(config) {
  if (config.memoryOf) return memoryChild(config.memoryOf);
  if (config.filter) return filterChild();
  const c = require(path.join(root, 'dist'));
  const file = path.join(config.dir, 'model.cfk');
  const readOpts = config.data.endsWith('.dat') ? { implicit: { threshold: 4 } } : {};
  const train = await c.Interactions.fromFile(path.join(dataDir, config.data), readOpts);
  const fitted = config.model === 'ease' ? await c.EASE.fit(train, config.options) : await c.SANSA.fit(train, config.options);
  await fitted.save(file);
  fitted.dispose();
  const loads = [];
  let model;
  for (let r = 0; r < 5; r++) {
    model?.dispose();
    const t0 = performance.now();
    model = await c.load(file);
    loads.push(performance.now() - t0);
  }
  const users = model.history.userIds.toArray();
  const latency = {};
  // default: one user per call runs on the calling thread (this loop awaits one call at a time);
  // workerThread: the same calls forced through a worker thread, as under a busy event loop.
  const variants = { default: {}, threads1: { threads: 1 }, threads2: { threads: 2 }, workerThread: { inline: 'never' } };
  for (const [name, extra] of Object.entries(variants)) {
    const w = (await timeCalls(model, 3000, spread(users), extra)).slice(500);
    latency[name] = { p50Us: percentile(w, 0.5), p99Us: percentile(w, 0.99), calls: w.length };
  }
  // One user at a time by history length (the median user, the 90th and 99th percentiles, the
  // longest): the median of 600 calls each, so the figure is the work, not the machine's tail.
  const h = model.history;
  const byLength = Array.from({ length: h.numUsers }, (_, u) => [h.indptr[u + 1] - h.indptr[u], u]).sort((a, b) => a[0] - b[0]);
  const byHistory = [];
  for (const q of [0.5, 0.9, 0.99, 1]) {
    const [items, u] = byLength[Math.floor(q * (byLength.length - 1))];
    const t = await timeCalls(model, 600, () => users[u]);
    byHistory.push({ quantile: q, historyItems: items, medianUs: percentile(t, 0.5) });
  }
  latency.byHistory = byHistory;
  model.dispose();
  process.stdout.write(
    JSON.stringify({
      ...config,
      items: train.numItems,
      users: train.numUsers,
      fileMiB: fs.statSync(file).size / 2 ** 20,
      loadMs: { median: median(loads), runs: loads.map((x) => Math.round(x * 10) / 10) },
      latency,
      users0: users.slice(0, 2000),
    }),
  );
}

// A closed loop per connection for `seconds`: one keep-alive socket each, written and parsed by hand
// (HTTP/1.1 with Content-Length), so the load generator, which shares the machine with the server,
// spends as little CPU per request as it can. Node's http client cost more per request than the
// server's own work. Gives req/s and latency percentiles.
async function loadTest(port, users, seconds, connections) {
  const latencies = [];
  let errors = 0;
  let n = 0;
  const end = Date.now() + seconds * 1000;
  const connection = () =>
    new Promise((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port, noDelay: true });
      let buf = Buffer.alloc(0);
      let t0 = 0n;
      const send = () => {
        if (Date.now() >= end) return socket.end();
        t0 = process.hrtime.bigint();
        socket.write(`GET /recommend?user=${encodeURIComponent(users[n++ % users.length])}&k=20 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
      };
      socket.on('connect', send);
      socket.on('data', (chunk) => {
        buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
        const head = buf.indexOf('\r\n\r\n');
        if (head < 0) return;
        const headers = buf.subarray(0, head).toString('latin1');
        const length = /\r\ncontent-length: *(\d+)/i.exec(headers);
        if (!length) {
          errors++;
          return socket.destroy();
        }
        const total = head + 4 + Number(length[1]);
        if (buf.length < total) return;
        latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
        if (!headers.startsWith('HTTP/1.1 200')) errors++;
        buf = buf.subarray(total);
        send();
      });
      socket.on('error', () => errors++);
      socket.on('close', resolve);
    });
  await Promise.all(Array.from({ length: connections }, connection));
  return { requests: latencies.length, errors, reqPerSec: latencies.length / seconds, p50Ms: percentile(latencies, 0.5), p99Ms: percentile(latencies, 0.99) };
}

function startServer(file) {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [path.join(root, 'examples', 'http-service', 'server.js'), file, '--port', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    proc.stderr.on('data', (d) => {
      err += d;
      const m = /listening on http:\/\/[^:]+:(\d+)/.exec(err);
      if (m) resolve({ proc, port: Number(m[1]) });
    });
    proc.on('exit', (code) => reject(new Error(`server exited (${code}): ${err}`)));
  });
}

async function main() {
  if (flag('--child')) return child(JSON.parse(opt('--child')));
  const seconds = Number(opt('--seconds', '10'));
  const connections = Number(opt('--connections', '10'));
  const c = require(path.join(root, 'dist'));
  const results = { benchmark: 'serve', date: new Date().toISOString(), machine: machine(), backend: c.backendInfo().cpu, seconds, connections, runs: [] };
  results.filter = runChild(__filename, { filter: true }, { timeoutMs: 300_000 });
  if (!results.filter.error)
    console.error(
      `ItemFilter of ${results.filter.filterItems} of ${results.filter.items} items: one user p50 ${results.filter.plainP50Us.toFixed(0)} µs, ` +
        `${results.filter.itemFilterP50Us.toFixed(0)} µs with it as include (+${results.filter.addedUs.toFixed(1)} µs)`,
    );
  for (const config of CONFIGS) {
    if (!fs.existsSync(path.join(dataDir, config.data))) {
      results.runs.push({ name: config.name, skipped: `../shared/data/${config.data} is absent` });
      continue;
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfkit-serve-'));
    const r = runChild(__filename, { ...config, dir }, { timeoutMs: 900_000, nodeArgs: ['--expose-gc'] });
    if (r.error) {
      results.runs.push({ name: config.name, error: r.error });
      continue;
    }
    const { users0, ...run } = r;
    run.rssMiB = runChild(__filename, { memoryOf: path.join(dir, 'model.cfk') }, { timeoutMs: 120_000, nodeArgs: ['--expose-gc'] });
    run.rssMiB.ratio = (run.rssMiB.afterLoad - run.rssMiB.baseline) / run.fileMiB;
    const server = await startServer(path.join(dir, 'model.cfk'));
    try {
      run.http = await loadTest(server.port, users0, seconds, connections);
    } finally {
      server.proc.kill('SIGTERM');
    }
    fs.rmSync(dir, { recursive: true, force: true });
    results.runs.push(run);
    console.error(
      `${config.name} (${run.items} items, ${run.fileMiB.toFixed(0)} MiB file): load ${run.loadMs.median.toFixed(0)} ms, RSS +${(run.rssMiB.afterLoad - run.rssMiB.baseline).toFixed(1)} MiB ` +
        `(${run.rssMiB.ratio.toFixed(2)}x the file; the addon +${run.rssMiB.addonMiB.toFixed(1)} MiB once); one user p50 ${run.latency.default.p50Us.toFixed(0)} µs p99 ${run.latency.default.p99Us.toFixed(0)} µs; ` +
        `HTTP ${run.http.reqPerSec.toFixed(0)} req/s p50 ${run.http.p50Ms.toFixed(2)} ms p99 ${run.http.p99Ms.toFixed(2)} ms, ${run.http.errors} errors; ` +
        `by history: ${run.latency.byHistory.map((b) => `${b.historyItems} items ${b.medianUs.toFixed(0)} µs`).join(', ')}`,
    );
  }
  writeResults('serve', results);
}

runMain(main);
