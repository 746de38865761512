#!/usr/bin/env node
// Abort latency: the time from AbortController.abort() to the fit's rejection with E_ABORTED, while
// EASE factorizes and inverts Last.fm's 17,632-item Gram matrix and while ∞-AE solves ML-1M's
// kernel (the ∞-AE paper's split, 6,040 support users). Each configuration aborts a fresh fit
// `delay` ms after its stage starts, --reps times, in its own child process.
// Writes bench/results/abort.json.   node bench/abort.js [--reps 5] [--threads N]
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { root, dataDir, opt, flag, threads, machine, median, runChild, ml1mInfaeSplit, writeResults, runMain } = require('./common');

const CONFIGS = [
  { model: 'ease', dataset: 'lastfm', stage: 'factorize', delayMs: 400 },
  { model: 'ease', dataset: 'lastfm', stage: 'invert', delayMs: 600 },
  { model: 'infae', dataset: 'ml-1m-infae-split', stage: 'solve', delayMs: 150 },
];

async function child(config) {
  const c = require(path.join(root, 'dist'));
  const train =
    config.dataset === 'lastfm'
      ? await c.Interactions.fromFile(path.join(dataDir, 'lastfm-hetrec2011-2k', 'user_artists.dat'), { implicit: true })
      : (await ml1mInfaeSplit(c)).train;
  const latencies = [];
  for (let r = 0; r < config.reps; r++) {
    const controller = new AbortController();
    let abortedAt = 0;
    let timer;
    const onProgress = (e) => {
      if (e.stage !== config.stage || timer) return;
      timer = setTimeout(() => {
        abortedAt = performance.now();
        controller.abort();
      }, config.delayMs);
    };
    const common = { threads, signal: controller.signal, onProgress };
    const fit = config.model === 'ease' ? c.EASE.fit(train, { l2: 200, ...common }) : c.InfiniteAE.fit(train, { lambda: 5, ...common });
    const outcome = await fit.then(
      (m) => {
        m.dispose();
        return 'finished before the abort';
      },
      (err) => (err.code === 'E_ABORTED' ? null : `${err.code}: ${err.message}`),
    );
    clearTimeout(timer);
    if (outcome) throw new Error(outcome);
    latencies.push(performance.now() - abortedAt);
  }
  process.stdout.write(
    JSON.stringify({
      ...config,
      items: train.numItems,
      users: train.numUsers,
      latencyMs: { median: median(latencies), max: Math.max(...latencies), runs: latencies.map((x) => Math.round(x * 10) / 10) },
    }),
  );
}

async function main() {
  if (flag('--child')) return child(JSON.parse(opt('--child')));
  const reps = Number(opt('--reps', '5'));
  const c = require(path.join(root, 'dist'));
  const results = { benchmark: 'abort', date: new Date().toISOString(), machine: machine(), threads, backend: c.backendInfo().cpu, runs: [] };
  for (const config of CONFIGS) {
    const needs = config.dataset === 'lastfm' ? 'lastfm-hetrec2011-2k' : 'ml-1m-infae-split';
    if (!fs.existsSync(path.join(dataDir, needs))) {
      results.runs.push({ ...config, skipped: `../shared/data/${needs} is absent` });
      continue;
    }
    const r = runChild(__filename, { ...config, reps }, { timeoutMs: 600_000 });
    results.runs.push(r);
    console.error(r.error ? `${config.model} ${config.stage}: ${r.error}` : `${config.model} ${config.stage} (${r.items} items): median ${r.latencyMs.median.toFixed(1)} ms, max ${r.latencyMs.max.toFixed(1)} ms`);
  }
  writeResults('abort', results);
}

runMain(main);
