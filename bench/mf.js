#!/usr/bin/env node
// MF benchmark: updates per second, seconds per epoch, peak RSS and test RMSE for fp32, fp16,
// MASCOT and pruning (rates 0.1 to 0.7), on ML-1M (seeded 90/10 rating split, k = 128) and on a
// generated Netflix-shaped set (480K users x 17.7K items, power-law degrees, 25M ratings).
// Writes bench/results/mf.json.   node bench/mf.js [--netflix-epochs 10] [--ml1m-epochs 20] [--reps 3]
//                                                  [--libmf path/to/libmf.so [--libmf-l2 0.05] [--libmf-eta 0.1]]
//
// With --libmf, LIBMF (a build the user supplies; bench/reference/libmf_driver.c loads it) is timed
// on the same ML-1M split, k, threads and iteration count, in the same round-robin, and the run
// records cfkit fp32 against it: LIBMF's seconds per iteration (setup excluded, as cfkit's epoch
// times exclude it) and both test RMSEs.
//
// Shared machines drift by tens of percent over minutes, so every configuration runs --reps times,
// round-robin across configurations, and the figures are the medians over those runs. The
// Netflix-shaped set is generated once and handed to every run through a temporary file.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const os = require('node:os');
const { spawnSync } = require('node:child_process');
const { root, dataDir, args, opt, threads, machine, median, runChild } = require('./common');
const CONFIGS = [
  { name: 'fp32', options: {} },
  { name: 'fp16', options: { precision: 'fp16' } },
  { name: 'mascot', options: { precision: 'mascot' } },
  { name: 'pruned-0.1', options: { pruning: { rate: 0.1 } } },
  { name: 'pruned-0.3', options: { pruning: { rate: 0.3 } } },
  { name: 'pruned-0.5', options: { pruning: { rate: 0.5 } } },
  { name: 'pruned-0.6', options: { pruning: { rate: 0.6 } } },
  { name: 'pruned-0.7', options: { pruning: { rate: 0.7 } } },
];
// Run as well when a CUDA device is usable (device: 'cuda' opts in).
const GPU_CONFIGS = [
  { name: 'cuda-fp32', options: { device: 'cuda' } },
  { name: 'cuda-fp16', options: { device: 'cuda', precision: 'fp16' } },
  { name: 'cuda-mascot', options: { device: 'cuda', precision: 'mascot' } },
];

// Netflix-shaped ratings: Zipf-like user and item degrees, values from rank-8 structure + noise.
function netflixShaped(c) {
  const U = 480189;
  const I = 17770;
  const target = 25_000_000;
  const rng = new c.Rng(11);
  const zipf = (n, s) => {
    const w = new Float64Array(n);
    let sum = 0;
    for (let j = 0; j < n; j++) sum += w[j] = 1 / Math.pow(j + 1, s);
    let acc = 0;
    return w.map((x) => (acc += x / sum));
  };
  const itemCum = zipf(I, 0.9);
  const pick = (cum) => rng.weighted(cum);
  const r = 8;
  const pu = new Float32Array(U * r).map(() => rng.normal() * 0.5);
  const qi = new Float32Array(I * r).map(() => rng.normal() * 0.5);
  const users = new Int32Array(target);
  const items = new Int32Array(target);
  const values = new Float32Array(target);
  // User degrees: log-normal around 52 ratings (25M / 480K), at least 1.
  let n = 0;
  const seen = new Set();
  for (let u = 0; u < U && n < target; u++) {
    const deg = Math.max(1, Math.min(I / 2, Math.round(Math.exp(Math.log(52) - 0.8 + 1.2 * rng.normal()))));
    seen.clear();
    for (let t = 0; t < deg && n < target; t++) {
      const i = pick(itemCum);
      if (seen.has(i)) continue;
      seen.add(i);
      let v = 3.6;
      for (let d = 0; d < r; d++) v += pu[u * r + d] * qi[i * r + d];
      v = Math.min(5, Math.max(1, Math.round(v + 0.8 * rng.normal())));
      users[n] = u;
      items[n] = i;
      values[n] = v;
      n++;
    }
  }
  const data = c.Interactions.fromArrays({ users: users.subarray(0, n), items: items.subarray(0, n), values: values.subarray(0, n) }, { numUsers: U, numItems: I });
  return c.ratingSplit(data, { testFraction: 0.1, seed: 7 });
}

// The generated set as one file: header [users, items, nTrain, nTest], then users, items, values of
// train and then of test.
function saveSplit(file, split) {
  const parts = [];
  for (const x of [split.train, split.test]) {
    const c = x.csr();
    const users = new Int32Array(c.indices.length);
    for (let r = 0; r < c.rows; r++) users.fill(r, c.indptr[r], c.indptr[r + 1]);
    parts.push(users, c.indices, c.values);
  }
  const head = Int32Array.of(split.train.numUsers, split.train.numItems, parts[0].length, parts[3].length);
  fs.writeFileSync(file, Buffer.concat([head, ...parts].map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength))));
}

function loadSplit(c, file) {
  const buf = fs.readFileSync(file);
  const i32 = (at, n) => new Int32Array(buf.buffer, buf.byteOffset + at * 4, n);
  const [numUsers, numItems, nTrain, nTest] = i32(0, 4);
  let at = 4;
  const take = (n, T) => {
    const a = new T(buf.buffer, buf.byteOffset + at * 4, n);
    at += n;
    return a;
  };
  const part = (n) => c.Interactions.fromArrays({ users: take(n, Int32Array), items: take(n, Int32Array), values: take(n, Float32Array) }, { numUsers, numItems });
  const train = part(nTrain);
  return { train, test: part(nTest) };
}

async function child(cfg) {
  const c = require(path.join(root, 'dist'));
  let split;
  if (cfg.dataset === 'ml-1m') split = c.ratingSplit(await c.Interactions.fromFile(path.join(dataDir, 'ml-1m', 'ratings_no_ts.dat')), { testFraction: 0.1, seed: 42 });
  else split = loadSplit(c, cfg.file);
  const t0 = performance.now();
  const m = await c.MatrixFactorization.fit(split.train, { factors: 128, epochs: cfg.epochs, threads, ...cfg.options });
  const seconds = (performance.now() - t0) / 1000;
  const epochSeconds = m.info.epochs.reduce((a, e) => a + e.seconds, 0) / m.info.epochs.length;
  const out = {
    dataset: cfg.dataset,
    config: cfg.name,
    options: cfg.options,
    epochs: cfg.epochs,
    // Epochs from the first pruning on (6th), where a pruned run has its final shape.
    secondsPerEpochAfter5: median(m.info.epochs.slice(5).map((e) => e.seconds)),
    trainRatings: split.train.nnz,
    fitSeconds: seconds,
    secondsPerEpoch: epochSeconds,
    updatesPerSecond: split.train.nnz / epochSeconds,
    testRmse: m.rmse(split.test).rmse,
    groupsSwitched: m.info.epochs.at(-1).groupsSwitched,
    activeFactors: m.info.epochs.at(-1).activeFactors,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
  };
  m.dispose();
  process.stdout.write(JSON.stringify(out));
}

// LIBMF through the compiled driver, on the split in cfg.file.
function runLibmf(cfg) {
  const out = path.join(path.dirname(cfg.file), `libmf-${process.pid}.json`);
  const argv = [cfg.libmf, cfg.file, out, '128', String(threads), String(cfg.epochs), String(cfg.l2), String(cfg.eta), String(cfg.bins)];
  const r = spawnSync(cfg.driver, argv, { encoding: 'utf8', maxBuffer: 1 << 24, timeout: 1800e3 });
  if (r.status !== 0) return { ...cfg, error: (r.error?.message || r.stderr || 'failed').split('\n').slice(-5).join(' ') };
  const res = JSON.parse(fs.readFileSync(out, 'utf8'));
  fs.rmSync(out, { force: true });
  return { dataset: cfg.dataset, config: 'libmf', epochs: cfg.epochs, ...res, secondsPerEpoch: res.secondsPerIteration, updatesPerSecond: res.trainRatings / res.secondsPerIteration };
}

// Compiles the LIBMF driver and writes the ML-1M split it reads; returns the extra configuration.
async function prepareLibmf(c, libmf, epochs) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfkit-bench-libmf-'));
  const driver = path.join(dir, 'libmf_driver');
  const cc = spawnSync(process.env.CC || 'cc', ['-O2', '-o', driver, path.join(__dirname, 'reference', 'libmf_driver.c'), '-ldl', '-lm'], { encoding: 'utf8' });
  if (cc.status !== 0) throw new Error(`compiling the LIBMF driver failed: ${cc.stderr || cc.error?.message}`);
  const file = path.join(dir, 'ml-1m.bin');
  saveSplit(file, c.ratingSplit(await c.Interactions.fromFile(path.join(dataDir, 'ml-1m', 'ratings_no_ts.dat')), { testFraction: 0.1, seed: 42 }));
  return { name: 'libmf', libmf: path.resolve(libmf), driver, file, epochs, l2: Number(opt('--libmf-l2', '0.05')), eta: Number(opt('--libmf-eta', '0.1')), bins: Number(opt('--libmf-bins', '20')) };
}

const run = (cfg) => (cfg.libmf ? runLibmf(cfg) : runChild(__filename, cfg, { nodeArgs: ['--max-old-space-size=8192'] }));

async function main() {
  if (args.includes('--child')) return child(JSON.parse(opt('--child')));
  const info = require(path.join(root, 'dist')).backendInfo();
  const gpu = info.device === 'cuda' ? info.cuda.devices[0]?.name ?? 'CUDA device' : null;
  const results = {
    benchmark: 'mf',
    date: new Date().toISOString(),
    machine: machine(),
    threads,
    factors: 128,
    cpuKernels: info.cpu.simd,
    device: gpu ? `cpu and cuda (${gpu})` : 'cpu (no GPU measured on this machine)',
    runs: [],
  };
  const datasets = [];
  if (fs.existsSync(path.join(dataDir, 'ml-1m', 'ratings_no_ts.dat'))) datasets.push(['ml-1m', Number(opt('--ml1m-epochs', '20'))]);
  if (!args.includes('--no-netflix')) datasets.push(['netflix-shaped', Number(opt('--netflix-epochs', '10'))]);
  const reps = Number(opt('--reps', '3'));
  results.reps = reps;
  const figures = ['secondsPerEpochAfter5', 'fitSeconds', 'secondsPerEpoch', 'updatesPerSecond', 'peakRssMiB', 'secondsPerIterationWithValidation'];
  const libmf = opt('--libmf');
  for (const [dataset, epochs] of datasets) {
    let file;
    if (dataset === 'netflix-shaped') {
      file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cfkit-bench-mf-')), 'netflix-shaped.bin');
      saveSplit(file, netflixShaped(require(path.join(root, 'dist'))));
    }
    const configs = gpu ? [...CONFIGS, ...GPU_CONFIGS] : [...CONFIGS];
    if (libmf && dataset === 'ml-1m') configs.push(await prepareLibmf(require(path.join(root, 'dist')), libmf, epochs));
    const byConfig = configs.map(() => []);
    for (let rep = 0; rep < reps; rep++) configs.forEach((cfg, j) => byConfig[j].push(run({ dataset, epochs, file, ...cfg })));
    if (file) fs.rmSync(path.dirname(file), { recursive: true, force: true });
    const lib = configs.find((cfg) => cfg.libmf);
    if (lib) fs.rmSync(path.dirname(lib.file), { recursive: true, force: true });
    configs.forEach((cfg, j) => {
      const ok = byConfig[j].filter((r) => !r.error);
      if (ok.length === 0) {
        results.runs.push(byConfig[j][0]);
        return console.error(`${dataset} ${cfg.name}: ${byConfig[j][0].error}`);
      }
      const r = { ...ok[0], runs: ok.length };
      for (const f of figures) if (r[f] !== undefined) r[f] = median(ok.map((x) => x[f]));
      if (cfg.libmf) {
        results.runs.push(r);
        return console.error(`${dataset} LIBMF: ${r.secondsPerEpoch.toFixed(4)} s/iteration (${r.secondsPerIterationWithValidation.toFixed(4)} with validation), RMSE ${r.testRmse.toFixed(4)}`);
      }
      r.secondsPerEpochAfter5Each = ok.map((x) => x.secondsPerEpochAfter5);
      results.runs.push(r);
      console.error(`${dataset} ${cfg.name}: ${r.secondsPerEpoch.toFixed(3)} s/epoch (${r.secondsPerEpochAfter5.toFixed(3)} from epoch 6; runs ${r.secondsPerEpochAfter5Each.map((x) => x.toFixed(3)).join(' ')}), ${(r.updatesPerSecond / 1e6).toFixed(1)} M updates/s, RMSE ${r.testRmse.toFixed(4)}, ${r.peakRssMiB.toFixed(0)} MiB, active ${r.activeFactors.toFixed(1)}`);
    });
    const ref = results.runs.find((r) => r.dataset === dataset && r.config === 'libmf' && !r.error);
    const ours = results.runs.find((r) => r.dataset === dataset && r.config === 'fp32' && !r.error);
    if (ref && ours) {
      // LIBMF's figure leaves out its setup and its first iteration (which updates 8 factors only),
      // so cfkit's is the median epoch from the 6th on rather than the mean over all epochs.
      results.vsLibmf = {
        library: libmf,
        note: opt('--libmf-note', 'LIBMF shared library given by --libmf'),
        settings: { l2: ref.lambda, eta: ref.eta, bins: ref.bins, iterations: ref.iterations },
        speedup: ref.secondsPerEpoch / ours.secondsPerEpochAfter5,
        speedupAllEpochs: ref.secondsPerEpoch / ours.secondsPerEpoch,
        rmseDelta: ours.testRmse - ref.testRmse,
      };
      console.error(`cfkit fp32 vs LIBMF: ${results.vsLibmf.speedup.toFixed(2)}x updates/s, RMSE ${ours.testRmse.toFixed(4)} vs ${ref.testRmse.toFixed(4)}`);
    }
  }
  const out = path.join(__dirname, 'results', 'mf.json');
  fs.writeFileSync(out, JSON.stringify(results, null, 2) + '\n');
  console.error(`wrote ${path.relative(root, out)}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
