#!/usr/bin/env node
// EASE benchmark: fit time per stage, peak RSS and accuracy on ML-1M (strong generalization, when
// ../shared/data is present) and on a 20,000-item synthetic set; optionally the numpy/scipy
// reference on the same training matrix. Writes bench/results/ease.json.
//
//   node bench/ease.js [--quick] [--threads N] [--no-numpy]
//
// Each configuration runs in its own child process so its peak RSS is its own.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { root, dataDir, opt, flag, threads, machine, median, runChild } = require('./common');

async function child(config) {
  const c = require(path.join(root, 'dist'));
  const out = { config };
  let train;
  let test;
  if (config.dataset === 'ml-1m') {
    const loadTimes = [];
    let raw;
    for (let r = 0; r < 3; r++) {
      const t0 = performance.now();
      raw = await c.Interactions.fromFile(path.join(dataDir, 'ml-1m', 'ratings_no_ts.dat'), { implicit: { threshold: 4 } });
      loadTimes.push((performance.now() - t0) / 1000);
    }
    out.loadSeconds = median(loadTimes);
    const s = c.holdoutUsers(raw.dropUsersBelow(5), { testUsers: 600, validationUsers: 600, seed: 42 });
    train = s.train;
    test = s.test;
    if (config.dumpTo) {
      fs.mkdirSync(config.dumpTo, { recursive: true });
      fs.writeFileSync(path.join(config.dumpTo, 'indptr.i32'), Buffer.from(train.indptr.buffer, train.indptr.byteOffset, train.indptr.byteLength));
      fs.writeFileSync(path.join(config.dumpTo, 'indices.i32'), Buffer.from(train.indices.buffer, train.indices.byteOffset, train.indices.byteLength));
      fs.writeFileSync(path.join(config.dumpTo, 'shape.json'), JSON.stringify({ rows: train.numUsers, cols: train.numItems }));
    }
  } else {
    const data = c.syntheticInteractions({ users: config.users, items: config.items, meanInteractions: config.mean, seed: 1 });
    const s = c.holdoutUsers(data, { testUsers: 1000, seed: 1 });
    train = s.train;
    test = s.test;
  }
  out.train = { users: train.numUsers, items: train.numItems, nnz: train.nnz };
  const fits = [];
  let model;
  for (let r = 0; r < config.reps; r++) {
    model?.dispose();
    const stages = {};
    let stage = 'start';
    let last = performance.now();
    const t0 = last;
    model = await c.EASE.fit(train, {
      l2: config.l2,
      dtype: config.dtype,
      threads,
      onProgress: (e) => {
        if (e.stage === stage) return;
        const now = performance.now();
        stages[stage] = (now - last) / 1000;
        stage = e.stage;
        last = now;
      },
    });
    const end = performance.now();
    stages[stage] = (end - last) / 1000;
    fits.push({ seconds: (end - t0) / 1000, stages });
  }
  const secs = fits.map((f) => f.seconds);
  out.fitSeconds = { median: median(secs), min: Math.min(...secs), max: Math.max(...secs), runs: secs.length };
  out.stageSeconds = fits[secs.indexOf(median(secs))]?.stages ?? fits[0].stages;
  const report = await c.evaluate(model, test, ['recall@20', 'recall@50', 'ndcg@100'], { threads });
  out.accuracy = report.metrics;
  out.evaluateSeconds = report.seconds;
  model.dispose();
  out.peakRssMiB = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(JSON.stringify(out));
}

function run(config) {
  const r = runChild(__filename, config);
  if (r.error) throw new Error(`benchmark child failed: ${r.error}`);
  return r;
}

function numpyReference(folder, l2) {
  try {
    const out = execFileSync('python3', [path.join(__dirname, 'reference', 'ease_numpy.py'), folder, String(l2), '5'], {
      encoding: 'utf8',
      env: { ...process.env, OPENBLAS_NUM_THREADS: String(threads), OMP_NUM_THREADS: String(threads) },
    });
    return JSON.parse(out);
  } catch (err) {
    return { skipped: `numpy/scipy reference not available: ${String(err.message).split('\n')[0]}` };
  }
}

async function main() {
  if (flag('--child')) return child(JSON.parse(opt('--child')));
  const quick = flag('--quick');
  const results = {
    benchmark: 'ease',
    date: new Date().toISOString(),
    machine: machine(),
    threads,
    backend: require(path.join(root, 'dist')).backendInfo().cpu,
    runs: [],
  };
  const hasMl1m = fs.existsSync(path.join(dataDir, 'ml-1m', 'ratings_no_ts.dat'));
  if (hasMl1m) {
    const dump = fs.mkdtempSync(path.join(os.tmpdir(), 'cfkit-ease-'));
    for (const dtype of ['float32', 'float64']) {
      const r = run({ dataset: 'ml-1m', l2: 500, dtype, reps: quick ? 3 : 7, dumpTo: dtype === 'float32' ? dump : undefined });
      results.runs.push(r);
      console.error(`ml-1m ${dtype}: fit ${r.fitSeconds.median.toFixed(3)} s (median), load ${r.loadSeconds.toFixed(2)} s, peak RSS ${r.peakRssMiB.toFixed(0)} MiB, R@20 ${r.accuracy['recall@20'].toFixed(4)}`);
    }
    if (!flag('--no-numpy')) {
      results.numpyReference = { dataset: 'ml-1m', l2: 500, threads, ...numpyReference(dump, 500) };
      console.error(`numpy reference: ${JSON.stringify(results.numpyReference)}`);
      const best = results.numpyReference.best?.seconds_median;
      if (best) results.speedupVsNumpyBest = best / results.runs[0].fitSeconds.median;
    }
    fs.rmSync(dump, { recursive: true, force: true });
  } else {
    results.skipped = 'ml-1m: ../shared/data is absent';
  }
  const items = quick ? 5000 : 20000;
  const r = run({ dataset: 'synthetic', users: 2 * items, items, mean: 60, l2: 200, dtype: 'float32', reps: 1 });
  results.runs.push(r);
  console.error(`synthetic ${items} items: fit ${r.fitSeconds.median.toFixed(2)} s, peak RSS ${r.peakRssMiB.toFixed(0)} MiB`);
  const out = path.join(__dirname, 'results', quick ? 'ease.quick.json' : 'ease.json');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify(results, null, 2) + '\n');
  console.error(`wrote ${path.relative(root, out)}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
