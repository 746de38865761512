#!/usr/bin/env node
// DISTILL-CF benchmark: distils ML-1M (the ∞-AE paper split) into `budget` synthetic users, fits
// ∞-AE on them, and compares test nDCG@10 with ∞-AE on all 6,040 users. Writes
// bench/results/distill.json.
//
//   node bench/distill.js [--budget 500] [--samples 200] [--steps 500] [--eval-every 25] [--lr 0.04]
//
// The paper's setting (500 steps x 200 Gumbel samples) takes hours on a 2-core CPU; pass smaller
// --steps/--samples for a quicker, recorded data point.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { root, dataDir, opt, threads, machine, ml1mInfaeSplit } = require('./common');

async function main() {
  if (!fs.existsSync(path.join(dataDir, 'ml-1m-infae-split', 'train.tsv'))) {
    console.error('../shared/data/ml-1m-infae-split is absent; nothing to measure');
    return;
  }
  const c = require(path.join(root, 'dist'));
  const cfg = {
    budget: Number(opt('--budget', '500')),
    gumbelSamples: Number(opt('--samples', '200')),
    steps: Number(opt('--steps', '500')),
    evalEvery: Number(opt('--eval-every', '25')),
    lr: Number(opt('--lr', '0.04')),
    seed: 1,
  };
  const { train, validation, test } = await ml1mInfaeSplit(c);
  const metrics = ['ndcg@10', 'hr@10', 'hr@100'];
  let t0 = performance.now();
  const full = await c.InfiniteAE.fit(train, { lambda: 5, threads, keepHistory: false });
  const fullSeconds = (performance.now() - t0) / 1000;
  const fullReport = await c.evaluate(full, test, metrics, { threads });
  full.dispose();
  console.error(`full ∞-AE (${train.numUsers} users): ${JSON.stringify(fullReport.metrics)}`);

  t0 = performance.now();
  let last = 0;
  const d = await c.distill(train, {
    ...cfg,
    validation,
    threads,
    onProgress: (e) => {
      if (e.stage === 'distill' && e.step && performance.now() - last > 30000) {
        last = performance.now();
        console.error(`step ${e.step}/${cfg.steps} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
      }
    },
  });
  const distillSeconds = (performance.now() - t0) / 1000;
  const small = await c.InfiniteAE.fit(d.data, { lambda: d.lambda, threads, keepHistory: false });
  const smallReport = await c.evaluate(small, test, metrics, { threads });
  small.dispose();
  const ratio = smallReport.metrics['ndcg@10'] / fullReport.metrics['ndcg@10'];
  console.error(`distilled (${cfg.budget} users, λ ${d.lambda}): ${JSON.stringify(smallReport.metrics)}, ${(100 * ratio).toFixed(1)} % of full nDCG@10, ${distillSeconds.toFixed(0)} s`);

  const out = path.join(__dirname, 'results', 'distill.json');
  const results = {
    benchmark: 'distill',
    date: new Date().toISOString(),
    machine: machine(),
    threads,
    device: 'cpu (no GPU measured on this machine)',
    dataset: 'ml-1m-infae-split',
    config: cfg,
    full: { users: train.numUsers, lambda: 5, fitSeconds: fullSeconds, accuracy: fullReport.metrics },
    distilled: {
      users: d.data.numUsers,
      lambda: d.lambda,
      bestStep: d.bestStep,
      validationHr100: d.score,
      seconds: distillSeconds,
      secondsPerStep: distillSeconds / cfg.steps,
      accuracy: smallReport.metrics,
      finalLoss: d.loss[d.loss.length - 1],
    },
    ndcg10ShareOfFull: ratio,
  };
  fs.writeFileSync(out, JSON.stringify(results, null, 2) + '\n');
  console.error(`wrote ${path.relative(root, out)}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
