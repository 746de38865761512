#!/usr/bin/env node
// Bulk export benchmark: every Gowalla training user (29,858) at k = 20 from a SANSA model (ICF,
// λ 200, density 5e-4, as bench/serve.js), written as JSON lines by exportRecommendations, on 1 and
// 2 threads. Each run is its own child process that loads the saved model and exports; users/s is
// the median of --repeat runs, and peak RSS is the child's (so the export's bound shows against a
// child that only loads). Writes bench/results/batch.json.
//
//   node bench/batch.js [--repeat 3] [--batch-size 1024] [--model FILE]
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { root, dataDir, opt, machine, median, runChild, childConfig, writeResults, runMain } = require('./common');

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
    writeResults('batch', {
      machine: machine(),
      date: new Date().toISOString(),
      command: `node bench/batch.js --repeat ${repeat} --batch-size ${batchSize}`,
      dataset: 'gowalla-lightgcn/train.txt',
      model: { type: 'sansa', ...SANSA, fileBytes: fs.statSync(model).size },
      export: { format: 'jsonl', k: 20, batchSize },
      loadOnlyPeakRssMiB: load.peakRssMiB,
      runs,
      target: { usersPerSecond: 5000, threads: 2, met: runs.find((r) => r.threads === 2).usersPerSecond >= 5000 },
    });
  } finally {
    if (!opt('--model')) fs.rmSync(dir, { recursive: true, force: true });
  }
}

runMain(main);
