#!/usr/bin/env node
// ∞-AE benchmark: fit time by step, peak RSS and accuracy on ML-1M (the ∞-AE paper split, all
// 6,040 users) and on Gowalla (LightGCN split) with a user sample; plus the numpy/scipy port of the
// same closed form (bench/reference/infae_numpy.py) on the same matrix when Python has them.
// Writes bench/results/infae.json.   node bench/infae.js [--gowalla-users 8000] [--no-numpy]
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { root, dataDir, args, opt, threads, machine, runChild, ml1mInfaeSplit } = require('./common');

async function ml1m(c) {
  const { train, test } = await ml1mInfaeSplit(c);
  return { train, test, metrics: ['ndcg@10', 'hr@10', 'hr@100'] };
}

async function gowalla(c, sample) {
  const train = await c.Interactions.fromFile(path.join(dataDir, 'gowalla-lightgcn', 'train.txt'));
  const test = await c.Interactions.fromFile(path.join(dataDir, 'gowalla-lightgcn', 'test.txt'), { numUsers: train.numUsers, numItems: train.numItems });
  const rng = new c.Rng(7);
  const rows = rng.shuffle(Int32Array.from({ length: train.numUsers }, (_, i) => i)).slice(0, sample).sort();
  const sub = train.selectUsers(rows);
  return { train: sub, test: { inputs: sub, targets: test.selectUsers(rows) }, metrics: ['recall_bars@20', 'ndcg@20'] };
}

async function child(cfg) {
  const c = require(path.join(root, 'dist'));
  const d = cfg.dataset === 'ml-1m' ? await ml1m(c) : await gowalla(c, cfg.users);
  if (cfg.dumpTo) {
    fs.mkdirSync(cfg.dumpTo, { recursive: true });
    const t = d.train;
    fs.writeFileSync(path.join(cfg.dumpTo, 'indptr.i32'), Buffer.from(t.indptr.buffer, t.indptr.byteOffset, t.indptr.byteLength));
    fs.writeFileSync(path.join(cfg.dumpTo, 'indices.i32'), Buffer.from(t.indices.buffer, t.indices.byteOffset, t.indices.byteLength));
    fs.writeFileSync(path.join(cfg.dumpTo, 'shape.json'), JSON.stringify({ rows: t.numUsers, cols: t.numItems }));
  }
  const fits = [];
  let model;
  for (let r = 0; r < cfg.reps; r++) {
    model?.dispose();
    model = await c.InfiniteAE.fit(d.train, { lambda: cfg.lambda, dtype: cfg.dtype, device: cfg.device ?? 'cpu', threads });
    fits.push(model.info.seconds);
  }
  fits.sort((a, b) => a.total - b.total);
  const med = fits[Math.floor(fits.length / 2)];
  const report = await c.evaluate(model, d.test, d.metrics, { threads });
  const out = { ...cfg, users: d.train.numUsers, items: d.train.numItems, fitSeconds: med, runs: fits.length, accuracy: report.metrics, evaluateSeconds: report.seconds, peakRssMiB: process.resourceUsage().maxRSS / 1024, bytesNeeded: model.info.bytesNeeded };
  model.dispose();
  process.stdout.write(JSON.stringify(out));
}

const run = (cfg) => runChild(__filename, cfg);

async function main() {
  if (args.includes('--child')) return child(JSON.parse(opt('--child')));
  const info = require(path.join(root, 'dist')).backendInfo();
  const gpu = info.device === 'cuda' ? info.cuda.devices[0]?.name ?? 'CUDA device' : null;
  const results = {
    benchmark: 'infae',
    date: new Date().toISOString(),
    machine: machine(),
    threads,
    device: gpu ? `cpu and cuda (${gpu})` : 'cpu (no GPU measured on this machine)',
    runs: [],
  };
  if (fs.existsSync(path.join(dataDir, 'ml-1m-infae-split', 'train.tsv'))) {
    const dump = fs.mkdtempSync(path.join(os.tmpdir(), 'cfkit-infae-'));
    const configs = [
      { dtype: 'float32', device: 'cpu' },
      { dtype: 'float64', device: 'cpu' },
      ...(gpu ? [{ dtype: 'float32', device: 'cuda' }] : []),
    ];
    for (const { dtype, device } of configs) {
      const r = run({ dataset: 'ml-1m', lambda: 5, dtype, device, reps: 3, dumpTo: dtype === 'float32' && device === 'cpu' ? dump : undefined });
      results.runs.push(r);
      console.error(`ml-1m ${dtype} ${device}: ${r.error ?? `fit ${r.fitSeconds.total.toFixed(2)} s ${JSON.stringify(r.fitSeconds)}, ${r.peakRssMiB.toFixed(0)} MiB, ${JSON.stringify(r.accuracy)}`}`);
    }
    if (!args.includes('--no-numpy')) {
      try {
        const times = [];
        for (let k = 0; k < 3; k++)
          times.push(JSON.parse(execFileSync('python3', [path.join(__dirname, 'reference', 'infae_numpy.py'), dump, '5'], { encoding: 'utf8', env: { ...process.env, OPENBLAS_NUM_THREADS: String(threads), OMP_NUM_THREADS: String(threads) } })));
        times.sort((a, b) => a.total - b.total);
        results.numpyReference = { dataset: 'ml-1m', dtype: 'float32', median: times[1], runs: times };
        results.speedupVsNumpy = times[1].total / results.runs[0].fitSeconds.total;
        console.error(`numpy port: ${JSON.stringify(times[1])}`);
      } catch (err) {
        results.numpyReference = { skipped: String(err.message).split('\n')[0] };
      }
    }
    fs.rmSync(dump, { recursive: true, force: true });
  }
  if (fs.existsSync(path.join(dataDir, 'gowalla-lightgcn', 'train.txt'))) {
    const r = run({ dataset: 'gowalla', users: Number(opt('--gowalla-users', '8000')), lambda: 5, dtype: 'float32', reps: 1 });
    results.runs.push(r);
    console.error(`gowalla sample: ${r.error ?? `fit ${r.fitSeconds.total.toFixed(2)} s, ${r.peakRssMiB.toFixed(0)} MiB, ${JSON.stringify(r.accuracy)}`}`);
  }
  const out = path.join(__dirname, 'results', 'infae.json');
  fs.writeFileSync(out, JSON.stringify(results, null, 2) + '\n');
  console.error(`wrote ${path.relative(root, out)}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
