// Shared plumbing for the benchmark scripts: argument parsing, the machine description, and one
// child process per configuration (so each run's peak RSS is its own).
'use strict';
const { spawnSync } = require('node:child_process');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const dataDir = path.resolve(root, '..', 'shared', 'data');
const args = process.argv.slice(2);

function opt(name, fallback) {
  const k = args.indexOf(name);
  return k >= 0 ? args[k + 1] : fallback;
}

const flag = (name) => args.includes(name);
const threads = Number(opt('--threads', String(Math.min(2, os.availableParallelism()))));

function machine() {
  return { cpus: os.cpus().length, model: os.cpus()[0]?.model, memoryGiB: os.totalmem() / 2 ** 30, node: process.version };
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

// Runs `script --child <cfg>` and parses its JSON stdout; failures come back as { error }.
function runChild(script, cfg, { timeoutMs, nodeArgs = [] } = {}) {
  const r = spawnSync(process.execPath, [...nodeArgs, script, '--child', JSON.stringify(cfg), '--threads', String(threads)], {
    encoding: 'utf8',
    maxBuffer: 1 << 24,
    timeout: timeoutMs,
    env: { ...process.env, OPENBLAS_NUM_THREADS: String(threads) },
  });
  if (r.status !== 0) return { ...cfg, error: (r.error?.message || r.stderr || 'failed').split('\n').slice(-5).join(' ') };
  return JSON.parse(r.stdout);
}

// The ∞-AE paper's ML-1M split (../shared/data/ml-1m-infae-split): train, and a test set whose
// inputs are train + validation, all on one item space.
async function ml1mInfaeSplit(c) {
  const dir = path.join(dataDir, 'ml-1m-infae-split');
  const [tr, va, te] = await Promise.all(['train.tsv', 'val.tsv', 'test.tsv'].map((f) => c.Interactions.fromFile(path.join(dir, f))));
  const items = c.IdMap.union(tr.itemIds, va.itemIds, te.itemIds);
  const train = tr.alignItems(items).data;
  const users = [...Array.from(train.rowOfEntry(), (u) => train.userIds.id(u)), ...Array.from(va.rowOfEntry(), (u) => va.userIds.id(u))];
  const itemIds = [...Array.from(train.indices, (i) => train.itemIds.id(i)), ...Array.from(va.indices, (i) => va.itemIds.id(i))];
  const trainVal = c.Interactions.fromArrays({ users, items: itemIds }, { userIds: train.userIds, itemIds: items });
  const validation = c.evalSetFrom(train, va.alignItems(items).data);
  return { train, validation, test: c.evalSetFrom(trainVal, te) };
}

// Writes interactions as bench/reference/csr_io.py reads them: indptr.i32, indices.i32, shape.json.
function writeCsr(folder, interactions) {
  const fs = require('node:fs');
  fs.mkdirSync(folder, { recursive: true });
  const m = interactions.csr();
  fs.writeFileSync(path.join(folder, 'indptr.i32'), Buffer.from(Int32Array.from(m.indptr).buffer));
  fs.writeFileSync(path.join(folder, 'indices.i32'), Buffer.from(Int32Array.from(m.indices).buffer));
  fs.writeFileSync(path.join(folder, 'shape.json'), JSON.stringify({ rows: interactions.numUsers, cols: interactions.numItems }));
}

// Writes bench/results/NAME.json and says so.
function writeResults(name, results) {
  const fs = require('node:fs');
  const out = path.join(__dirname, 'results', `${name}.json`);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify(results, null, 2) + '\n');
  console.error(`wrote ${path.relative(root, out)}`);
}

// Runs a script's async main, exiting with status 1 and the error on failure.
function runMain(main) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}

const childConfig = () => (flag('--child') ? JSON.parse(opt('--child')) : null);

module.exports = { root, dataDir, args, opt, flag, threads, machine, median, runChild, childConfig, ml1mInfaeSplit, writeCsr, writeResults, runMain };
