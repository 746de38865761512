#!/usr/bin/env node
// SANSA benchmark: fit time per stage, peak RSS, model nonzeros and accuracy for a grid of densities
// and both factorizers, against dense EASE, on ML-1M (strong generalization), Gowalla (the fixed
// LightGCN split, BARS Recall@20 and nDCG@20) and Last.fm (strong generalization). Writes
// bench/results/sansa.json; bench/plot-sansa.js turns it into an SVG like the paper's Figure 2.
//
//   node bench/sansa.js [--datasets ml-1m,gowalla,lastfm] [--densities 5e-4,1e-3,...]
//                       [--factorizers cholmod,icf|none] [--max-seconds 300] [--gowalla-ease]
//                       [--reference PYTHON] [--merge [--reuse-reference]] [--repeat N]
//                       | --recompute-ratios
//
// Every configuration runs in its own child process (peak RSS is its own). Once a factorizer
// exceeds --max-seconds (or fails) on a dataset, its larger densities are recorded as skipped.
// With --reference, each configuration is also fitted by the reference implementation (the
// `sansa` package, glami/sansa, importable by PYTHON) on the same training matrix, through
// bench/reference/sansa_reference.py, and the run records both side by side.
// With --repeat N, each configuration is fitted N times by each side, in interleaved pairs (cfkit,
// reference, cfkit, ...): each side records its median run, with every run's fit time in
// fitSecondsRuns, and vsReference gives the ratio of medians and every pair's ratio. On this
// 2-core VM both sides' fit times move by a few percent from run to run.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { root, dataDir, args, opt, threads, machine, runChild, writeCsr } = require('./common');

const DATASETS = {
  'ml-1m': {
    file: 'ml-1m/ratings_no_ts.dat',
    metrics: ['recall@20', 'recall@50', 'ndcg@100'],
    headline: 'recall@20',
    l2: { ease: 500, cholmod: 500, icf: 10 },
    // The issue's reference timings on ML-1M used 1 scan and 5 finetune steps.
    umr: { scans: 1, finetune: 5 },
  },
  gowalla: {
    file: 'gowalla-lightgcn/train.txt',
    metrics: ['recall_bars@20', 'ndcg@20'],
    headline: 'recall_bars@20',
    l2: { ease: 200, cholmod: 200, icf: 20 },
    umr: { scans: 1, finetune: 10 },  // the reference code's defaults
    // Not measured here by default: 41K items make dense EASE a 6.7 GB, several-minute fit.
    easeReference: { 'recall_bars@20': 0.175, fitSeconds: 225, peakRssMiB: 6.6 * 1024, source: 'issue #3 reference figures (fp32 potrf/potri, λ = 200), not measured by this script' },
  },
  lastfm: {
    file: 'lastfm-hetrec2011-2k/user_artists.dat',
    metrics: ['recall@20', 'ndcg@100'],
    headline: 'recall@20',
    l2: { ease: 100, cholmod: 100, icf: 5 },
    umr: { scans: 1, finetune: 10 },
  },
};

async function loadSplit(c, name) {
  if (name === 'gowalla') {
    const train = await c.Interactions.fromFile(path.join(dataDir, 'gowalla-lightgcn', 'train.txt'));
    const test = await c.Interactions.fromFile(path.join(dataDir, 'gowalla-lightgcn', 'test.txt'), { numUsers: train.numUsers, numItems: train.numItems });
    return { train, test: { inputs: train, targets: test } };
  }
  if (name === 'ml-1m') {
    const raw = await c.Interactions.fromFile(path.join(dataDir, DATASETS[name].file), { implicit: { threshold: 4 } });
    return c.holdoutUsers(raw.dropUsersBelow(5), { testUsers: 600, validationUsers: 600, seed: 42 });
  }
  const raw = await c.Interactions.fromFile(path.join(dataDir, DATASETS[name].file), { implicit: true });
  return c.holdoutUsers(raw.dropUsersBelow(5), { testUsers: 200, validationUsers: 0, seed: 42 });
}

function readCsr(c, folder) {
  const { rows, cols } = JSON.parse(fs.readFileSync(path.join(folder, 'shape.json'), 'utf8'));
  const i32 = (name) => {
    const b = fs.readFileSync(path.join(folder, name));
    return new Int32Array(b.buffer, b.byteOffset, b.byteLength / 4).slice();
  };
  return c.Interactions.fromCsr({ indptr: i32('indptr.i32'), indices: i32('indices.i32'), userIds: rows, itemIds: cols });
}

// The split the reference fits and is scored on: the same matrices cfkit's child uses.
async function dumpSplit(name, folder) {
  const c = require(path.join(root, 'dist'));
  const split = await loadSplit(c, name);
  writeCsr(path.join(folder, 'train'), split.train);
  writeCsr(path.join(folder, 'inputs'), split.test.inputs);
  writeCsr(path.join(folder, 'targets'), split.test.targets);
}

function runReference(python, folder, name, model, density, maxSeconds) {
  const ds = DATASETS[name];
  const r = spawnSync(
    python,
    [path.join(__dirname, 'reference', 'sansa_reference.py'), folder, model, String(ds.l2[model]), String(density), String(ds.umr.scans), String(ds.umr.finetune), ds.metrics.join(',')],
    { encoding: 'utf8', maxBuffer: 1 << 24, timeout: maxSeconds * 3000, env: { ...process.env, OPENBLAS_NUM_THREADS: String(threads), OMP_NUM_THREADS: String(threads) } },
  );
  if (r.status !== 0) return { error: (r.error?.message || r.stderr || 'failed').split('\n').slice(-5).join(' ') };
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

async function child(cfg) {
  if (cfg.dump) {
    await dumpSplit(cfg.dump, cfg.folder);
    process.stdout.write('{}');
    return;
  }
  const c = require(path.join(root, 'dist'));
  const ds = DATASETS[cfg.dataset];
  // Both sides read the same dumped binary split, so neither's loading peak (text parsing here)
  // is counted against the fit.
  const split = { train: readCsr(c, path.join(cfg.folder, 'train')), test: { inputs: readCsr(c, path.join(cfg.folder, 'inputs')), targets: readCsr(c, path.join(cfg.folder, 'targets')) } };
  const rssBefore = process.resourceUsage().maxRSS / 1024;
  const t0 = performance.now();
  let model;
  if (cfg.model === 'ease') model = await c.EASE.fit(split.train, { l2: ds.l2.ease, threads });
  else
    model = await c.SANSA.fit(split.train, {
      factorizer: cfg.model,
      l2: ds.l2[cfg.model],
      density: cfg.density,
      umr: ds.umr,
      threads,
    });
  const fitSeconds = (performance.now() - t0) / 1000;
  // Peak RSS of the fit, taken before scoring as the reference script takes its own.
  const fitPeakRssMiB = process.resourceUsage().maxRSS / 1024;
  const report = await c.evaluate(model, split.test, ds.metrics, { threads });
  const { folder, ...config } = cfg;
  const out = {
    ...config,
    l2: ds.l2[cfg.model === 'ease' ? 'ease' : cfg.model],
    umr: cfg.model === 'ease' ? undefined : ds.umr,
    fitSeconds,
    stageSeconds: model.stats?.seconds,
    denseFactor: model.stats?.denseFactor,
    float32Factor: model.stats?.float32Factor,
    nnz: model.stats ? { factorFull: model.stats.nnzFactorFull, L: model.stats.nnzL, inverse: model.stats.nnzInverse, weights: model.stats.nnzWeights } : { weights: model.numItems ** 2 },
    umrLoss: model.stats?.umrLoss,
    icfRestarts: model.stats?.icfRestarts,
    accuracy: report.metrics,
    peakRssMiB: fitPeakRssMiB,
    peakRssWithEvaluationMiB: process.resourceUsage().maxRSS / 1024,
    dataRssMiB: rssBefore,
  };
  model.dispose();
  process.stdout.write(JSON.stringify(out));
}

// The run whose fit time is the median (the lower one of an even count), with every run's fit time
// when there were several; an error, if any run failed.
function medianRun(runs) {
  const failed = runs.find((r) => r.error);
  if (failed) return failed;
  const sorted = [...runs].sort((a, b) => a.fitSeconds - b.fitSeconds);
  const mid = sorted[(sorted.length - 1) >> 1];
  return runs.length > 1 ? { ...mid, fitSecondsRuns: runs.map((r) => r.fitSeconds) } : mid;
}

// Puts the reference's figures on cfkit's run, with the ratios the issue's targets are stated in:
// reference time / cfkit time, cfkit peak RSS / reference peak RSS, cfkit − reference headline.
// fitRssRatio compares what each fit added above its process's RSS once the data was loaded: on
// small catalogues the runtimes themselves (Node, Python with numpy/scipy/numba) dominate the peak.
function attachReference(r, ref, headline) {
  r.reference = ref;
  if (ref.error) return;
  r.vsReference = {
    speedup: ref.fitSeconds / r.fitSeconds,
    peakRssRatio: r.peakRssMiB / ref.peakRssMiB,
    fitRssRatio: (r.peakRssMiB - r.dataRssMiB) / Math.max(1, ref.peakRssMiB - ref.dataRssMiB),
    [`${headline}Delta`]: r.accuracy[headline] - ref.accuracy[headline],
  };
  const pairs = r.fitSecondsRuns && ref.fitSecondsRuns && !ref.reusedFrom ? Math.min(r.fitSecondsRuns.length, ref.fitSecondsRuns.length) : 0;
  if (pairs > 1) r.vsReference.speedupPerPair = r.fitSecondsRuns.slice(0, pairs).map((t, k) => ref.fitSecondsRuns[k] / t);
}

// Re-derives vsReference for every run in bench/results/sansa.json from its recorded figures.
function recomputeRatios() {
  const out = path.join(__dirname, 'results', 'sansa.json');
  const results = JSON.parse(fs.readFileSync(out, 'utf8'));
  for (const r of results.runs) if (r.reference && DATASETS[r.dataset]) attachReference(r, r.reference, DATASETS[r.dataset].headline);
  fs.writeFileSync(out, JSON.stringify(results, null, 2) + '\n');
  console.error(`updated ${path.relative(root, out)}`);
}

const run = (cfg, maxSeconds) => runChild(__filename, cfg, { timeoutMs: maxSeconds * 1000 * 3 });

// Runs in a stable order, whatever was merged: by dataset, EASE first, then factorizer and density.
const DATASET_ORDER = Object.keys(DATASETS);
function byConfiguration(a, b) {
  const model = (r) => (r.model === 'ease' ? '' : r.model ?? '');
  return DATASET_ORDER.indexOf(a.dataset) - DATASET_ORDER.indexOf(b.dataset) || model(a).localeCompare(model(b)) || (a.density ?? 0) - (b.density ?? 0);
}

async function main() {
  if (args.includes('--child')) return child(JSON.parse(opt('--child')));
  if (args.includes('--recompute-ratios')) return recomputeRatios();
  const datasets = opt('--datasets', 'ml-1m,gowalla,lastfm').split(',');
  const densities = opt('--densities', '5e-4,1e-3,5e-3,1e-2,5e-2').split(',').map(Number);
  // `--factorizers none` with --gowalla-ease measures only dense EASE.
  const factorizers = opt('--factorizers', 'cholmod,icf').split(',').filter((f) => f !== 'none');
  for (const f of factorizers) if (f !== 'cholmod' && f !== 'icf') throw new Error(`unknown factorizer '${f}' (cholmod, icf or none)`);
  const maxSeconds = Number(opt('--max-seconds', '300'));
  const repeat = Number(opt('--repeat', '1'));
  if (!Number.isInteger(repeat) || repeat < 1) throw new Error(`--repeat must be a positive integer, not '${opt('--repeat')}'`);
  const referencePython = opt('--reference');
  const out = path.join(__dirname, 'results', 'sansa.json');
  const results = fs.existsSync(out) && args.includes('--merge') ? JSON.parse(fs.readFileSync(out, 'utf8')) : { runs: [] };
  const previousDate = results.date;
  // Each run names the machine it was measured on: a merge keeps runs from earlier invocations,
  // which may have run elsewhere (files written before this field carried one machine for all).
  for (const r of results.runs) r.machine ??= results.machine;
  delete results.machine;
  const here = machine();
  Object.assign(results, {
    benchmark: 'sansa',
    date: new Date().toISOString(),
    threads,
    umr: Object.fromEntries(Object.entries(DATASETS).map(([k, v]) => [k, v.umr])),
    rss: 'peakRssMiB: maxRSS when the fit returns, before scoring (as the reference script measures); dataRssMiB: maxRSS once the split is loaded. Both sides read the same binary CSR split.',
    // A merged run without --reference keeps the description of the reference already on file.
    references: { gowallaEase: DATASETS.gowalla.easeReference, ...(results.references?.sansa ? { sansa: results.references.sansa } : {}) },
  });
  if (referencePython) results.references.sansa = { python: referencePython, note: opt('--reference-note', 'the sansa package importable by that python') };
  const runsEase = (name) => name !== 'gowalla' || args.includes('--gowalla-ease');
  // A merge replaces exactly the configurations this run measures (and their skip records).
  const remeasured = (r) => (r.model === 'ease' && runsEase(r.dataset)) || (factorizers.includes(r.model) && densities.includes(r.density));
  const keep = (r) => !(datasets.includes(r.dataset) && remeasured(r));
  // --reuse-reference: the reference's figures already in the file for the same configuration are
  // kept (tagged with when they were measured) instead of fitting the slow reference again; so is a
  // reference run that timed out. Only figures from the same kind of machine are reused: a ratio
  // across machines means nothing.
  const earlier = new Map();
  if (args.includes('--reuse-reference'))
    for (const r of results.runs)
      if (r.reference && r.machine?.model === here.model) earlier.set(`${r.dataset}/${r.model}/${r.density}`, { ...r.reference, reusedFrom: r.reference.reusedFrom ?? previousDate });
  results.runs = results.runs.filter(keep);
  for (const name of datasets) {
    if (!fs.existsSync(path.join(dataDir, DATASETS[name].file))) {
      results.runs.push({ dataset: name, skipped: '../shared/data is absent' });
      continue;
    }
    const splitFolder = fs.mkdtempSync(path.join(os.tmpdir(), `cfkit-sansa-${name}-`));
    const d = run({ dump: name, folder: splitFolder }, maxSeconds);
    if (d && d.error) throw new Error(`writing the ${name} split failed: ${d.error}`);
    if (runsEase(name)) {
      const r = { ...run({ dataset: name, model: 'ease', folder: splitFolder }, maxSeconds * 4), machine: here };
      results.runs.push(r);
      console.error(`${name} EASE: ${r.error ?? `${r.fitSeconds.toFixed(2)} s, ${r.peakRssMiB.toFixed(0)} MiB, ${JSON.stringify(r.accuracy)}`}`);
    }
    for (const model of factorizers) {
      let stop = null;
      for (const density of densities) {
        if (stop) {
          results.runs.push({ dataset: name, model, density, skipped: stop });
          continue;
        }
        const reused = earlier.get(`${name}/${model}/${density}`);
        const fits = [], references = [];
        for (let k = 0; k < repeat; ++k) {
          fits.push(run({ dataset: name, model, density, folder: splitFolder }, maxSeconds));
          if (fits[k].error) break;
          if (referencePython && !reused) references.push(runReference(referencePython, splitFolder, name, model, density, maxSeconds));
        }
        const r = { ...medianRun(fits), machine: here };
        if (reused && !r.error) attachReference(r, reused, DATASETS[name].headline);
        else if (references.length && !r.error) attachReference(r, medianRun(references), DATASETS[name].headline);
        results.runs.push(r);
        if (r.error) stop = `a smaller density failed: ${r.error.slice(0, 200)}`;
        else if (r.fitSeconds > maxSeconds) stop = `density ${density} took ${r.fitSeconds.toFixed(0)} s (> ${maxSeconds} s budget)`;
        console.error(`${name} ${model} ${density}: ${r.error ?? `${r.fitSeconds.toFixed(2)} s, ${r.peakRssMiB.toFixed(0)} MiB, ${DATASETS[name].headline} ${r.accuracy[DATASETS[name].headline].toFixed(4)}`}`);
        if (r.reference) console.error(`  reference: ${r.reference.error ?? `${r.reference.fitSeconds.toFixed(2)} s, ${r.reference.peakRssMiB.toFixed(0)} MiB, ${DATASETS[name].headline} ${r.reference.accuracy[DATASETS[name].headline].toFixed(4)}`}`);
      }
    }
    fs.rmSync(splitFolder, { recursive: true, force: true });
    results.runs.sort(byConfiguration);
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, JSON.stringify(results, null, 2) + '\n');
  }
  console.error(`wrote ${path.relative(root, out)}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
