#!/usr/bin/env node
// iALS benchmark: seconds per epoch and peak RSS of ImplicitALS on ML-1M (strong generalization's
// training users) and Gowalla (LightGCN's train.txt) at k = 64 and 128, against the numpy/scipy
// implementation of the same algorithm (bench/reference/ials_numpy.py: same k, CG steps, λ, α₀, ν
// and epochs) on the same matrix, run side by side, with both sides' factors evaluated by cfkit
// (ML-1M test nDCG@100 by fold-in; Gowalla BARS Recall@20 on test.txt). Writes bench/results/ials.json.
//
//   node bench/ials.js [--epochs 3] [--python python3] [--no-reference]
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { root, dataDir, opt, flag, threads, machine, median, runChild, childConfig, writeCsr, writeResults, runMain } = require('./common');

// Hyper-parameters chosen on validation users (see test/integration/ials.test.ts).
const DATASETS = {
  'ml-1m': { l2: 0.01, unobservedWeight: 0.1, metric: 'ndcg@100' },
  gowalla: { l2: 0.003, unobservedWeight: 0.01, metric: 'recall_bars@20' },
};
const CG_STEPS = 3;
const NU = 1;

async function split(c, name) {
  if (name === 'gowalla') {
    const train = await c.Interactions.fromFile(path.join(dataDir, 'gowalla-lightgcn', 'train.txt'));
    const test = await c.Interactions.fromFile(path.join(dataDir, 'gowalla-lightgcn', 'test.txt'), { numUsers: train.numUsers, numItems: train.numItems });
    return { train, test: c.evalSetFrom(train, test) };
  }
  const raw = await c.Interactions.fromFile(path.join(dataDir, 'ml-1m', 'ratings_no_ts.dat'), { implicit: { threshold: 4 } });
  const s = c.holdoutUsers(raw.dropUsersBelow(5), { testUsers: 600, validationUsers: 600, seed: 42 });
  return { train: s.train, test: s.test };
}

// A model from factors (the reference's) with the dataset's fold-in parameters.
function fromFactors(c, train, k, w, h, ds) {
  const file = {
    type: 'ials',
    cfkitVersion: '',
    params: { factors: k, l2: ds.l2, unobservedWeight: ds.unobservedWeight, regularizationExponent: NU },
    meta: {},
    sections: new Map([['itemIds', train.itemIds.toArray()], ['userIds', train.userIds.toArray()], ['w', w], ['h', h]]),
  };
  return c.ImplicitALS.fromModelFile(file, 'reference');
}

async function child(cfg) {
  const c = require(path.join(root, 'dist'));
  const ds = DATASETS[cfg.dataset];
  const s = await split(c, cfg.dataset);
  if (cfg.dump) {
    writeCsr(cfg.dump, s.train);
    return {};
  }
  if (cfg.referenceFactors) {
    const read = (f) => new Float32Array(fs.readFileSync(path.join(cfg.referenceFactors, f)).buffer.slice(0));
    const m = fromFactors(c, s.train, cfg.k, read('W.f32'), read('H.f32'), ds);
    const r = await c.evaluate(m, s.test, [ds.metric], { threads: cfg.threads });
    return { accuracy: r.metrics[ds.metric] };
  }
  const m = await c.ImplicitALS.fit(s.train, { factors: cfg.k, epochs: cfg.epochs, cgSteps: CG_STEPS, l2: ds.l2, unobservedWeight: ds.unobservedWeight, regularizationExponent: NU, threads: cfg.threads });
  const epochSeconds = m.info.epochs.map((e) => e.seconds);
  const peakRssMiB = process.resourceUsage().maxRSS / 1024;
  const r = await c.evaluate(m, s.test, [ds.metric], { threads: cfg.threads });
  return { epochSeconds, peakRssMiB, accuracy: r.metrics[ds.metric], loss: m.info.epochs.map((e) => e.loss) };
}

async function main() {
  const cfg = childConfig();
  if (cfg) {
    process.stdout.write(JSON.stringify(await child(cfg)));
    return;
  }
  const epochs = Number(opt('--epochs', '3'));
  const python = opt('--python', 'python3');
  const runs = [];
  for (const dataset of Object.keys(DATASETS)) {
    const file = dataset === 'gowalla' ? 'gowalla-lightgcn/train.txt' : 'ml-1m/ratings_no_ts.dat';
    if (!fs.existsSync(path.join(dataDir, file))) {
      console.error(`skipped ${dataset}: ${file} is not in ../shared/data`);
      continue;
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfkit-ials-'));
    runChild(__filename, { dataset, dump: dir });
    for (const k of [64, 128]) {
      const ds = DATASETS[dataset];
      const ours = runChild(__filename, { dataset, k, epochs, threads });
      if (ours.error) throw new Error(ours.error);
      const run = { dataset, k, epochs, cgSteps: CG_STEPS, ...ds, regularizationExponent: NU, threads, cfkit: { secondsPerEpoch: median(ours.epochSeconds), epochSeconds: ours.epochSeconds, peakRssMiB: ours.peakRssMiB, [ds.metric]: ours.accuracy } };
      if (!flag('--no-reference')) {
        const r = spawnSync(python, [path.join(__dirname, 'reference', 'ials_numpy.py'), dir, String(k), String(ds.l2), String(ds.unobservedWeight), String(NU), String(epochs), String(CG_STEPS), dir], {
          encoding: 'utf8',
          env: { ...process.env, OPENBLAS_NUM_THREADS: String(threads), OMP_NUM_THREADS: String(threads), PYTHONPATH: path.join(__dirname, 'reference') },
          maxBuffer: 1 << 24,
        });
        if (r.status !== 0) run.reference = { error: (r.stderr || 'failed').split('\n').slice(-3).join(' ') };
        else {
          const ref = JSON.parse(r.stdout.trim().split('\n').pop());
          const acc = runChild(__filename, { dataset, k, threads, referenceFactors: dir });
          run.reference = { implementation: 'bench/reference/ials_numpy.py', secondsPerEpoch: median(ref.epochSeconds), epochSeconds: ref.epochSeconds, [ds.metric]: acc.accuracy };
          run.speedup = run.reference.secondsPerEpoch / run.cfkit.secondsPerEpoch;
        }
      }
      console.error(`${dataset} k=${k}: cfkit ${run.cfkit.secondsPerEpoch.toFixed(3)} s/epoch${run.speedup ? `, numpy ${run.reference.secondsPerEpoch.toFixed(2)} s/epoch (${run.speedup.toFixed(1)}x)` : ''}, ${ds.metric} ${run.cfkit[ds.metric].toFixed(4)}${run.reference?.[ds.metric] ? ` vs ${run.reference[ds.metric].toFixed(4)}` : ''}`);
      runs.push(run);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
  writeResults('ials', { machine: machine(), date: new Date().toISOString(), command: `node bench/ials.js --epochs ${epochs}`, runs });
}

runMain(main);
