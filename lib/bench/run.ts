/** Runs a bench config: each model in its own process, and a results record of what was run where. */
import { fork } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { backendInfo } from '../backend';
import { CfkitError } from '../errors';
import { version } from '../version';
import type { ChildRequest, ModelResult } from './child';
import { checkConfig, ConfigError, ResolvedConfig, SplitConfig } from './config';
import { sha256File } from '../io/hash';
import { loadDataset, makeSplit, sha256Data, shape } from './data';

export const RESULTS_SCHEMA = 'cfkit-bench-results/1';

export interface Machine {
  cpu: string;
  threads: number;
  blasCore: string;
  blas: string;
  /** 'cpu', or the CUDA device that 'auto' would use. */
  device: string;
  platform: string;
  node: string;
}

export interface DatasetRecord {
  name: string;
  source: { file: string; bytes: number; sha256: string } | { synthetic: Record<string, unknown> };
  /** sha256 of the loaded interactions (CSR arrays), whatever their source. */
  sha256: string;
  shape: { users: number; items: number; interactions: number };
  split: SplitConfig & { train: { users: number; items: number; interactions: number }; testUsers: number; testSha256?: string };
}

export interface BenchResults {
  schema: typeof RESULTS_SCHEMA;
  cfkit: string;
  name?: string;
  createdAt: string;
  machine: Machine;
  metrics: string[];
  repeats: number;
  threads?: number;
  /** Saved as a quality-only baseline: no timings or memory, so they are never compared. */
  qualityOnly?: boolean;
  tolerances?: Record<string, number>;
  timeRatio?: number;
  datasets: DatasetRecord[];
  results: ModelResult[];
}

export function machine(): Machine {
  const info = backendInfo();
  const core = /core=(\S+)/.exec(info.cpu.blas)?.[1] ?? 'unknown';
  const gpu = info.cuda.devices[0];
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    threads: os.availableParallelism(),
    blasCore: core,
    blas: info.cpu.blas,
    device: info.device === 'cuda' && gpu ? `cuda: ${gpu.name}` : 'cpu',
    platform: `${process.platform}-${process.arch}`,
    node: process.version,
  };
}

function runChild(req: ChildRequest): Promise<ModelResult> {
  return new Promise((resolve, reject) => {
    const child = fork(path.join(__dirname, 'child.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let answered = false;
    child.once('message', (m: { ok: boolean; result?: ModelResult; error?: { code: string; message: string } }) => {
      answered = true;
      if (m.ok) resolve(m.result!);
      else resolve({ dataset: req.dataset.name, model: req.run.name, type: req.run.type, params: req.run.params, metrics: {}, error: m.error });
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (!answered)
        resolve({ dataset: req.dataset.name, model: req.run.name, type: req.run.type, params: req.run.params, metrics: {}, error: { code: 'E_INTERNAL', message: `the model's process ended (${signal ?? `status ${code}`}) before it answered` } });
    });
    child.send(req);
  });
}

export interface RunBenchOptions {
  /** Called after each model, e.g. to print a line. */
  onResult?: (r: ModelResult) => void;
}

/** Reads and checks a config file (ConfigError names the bad field). */
export async function readConfig(file: string): Promise<ResolvedConfig> {
  let raw: unknown;
  try {
    raw = JSON.parse(await fs.promises.readFile(file, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code) throw new CfkitError('E_IO', `cannot read ${file}: ${(err as Error).message}`);
    throw new ConfigError('$', `is not valid JSON: ${(err as Error).message}`);
  }
  return checkConfig(raw, path.dirname(path.resolve(file)));
}

export async function runBench(config: ResolvedConfig, opts: RunBenchOptions = {}): Promise<BenchResults> {
  const datasets: DatasetRecord[] = [];
  const results: ModelResult[] = [];
  for (const [i, ds] of config.datasets.entries()) {
    let data, split;
    try {
      data = await loadDataset(ds);
      split = await makeSplit(data, ds.split!);
    } catch (err) {
      if (err instanceof CfkitError && err.code === 'E_INPUT') throw new ConfigError(`$.datasets[${i}]`, err.message);
      throw err;
    }
    const source = ds.file ? { file: ds.file, bytes: fs.statSync(ds.file).size, sha256: await sha256File(ds.file) } : { synthetic: ds.synthetic! };
    const s = ds.split!;
    datasets.push({
      name: ds.name,
      source,
      sha256: sha256Data(data),
      shape: shape(data),
      split: { ...s, train: shape(split.train), testUsers: split.test.inputs.numUsers, ...(s.kind === 'fixed' ? { testSha256: await sha256File(s.test) } : {}) },
    });
    for (const run of config.runs.filter((r) => !r.datasets || r.datasets.includes(ds.name))) {
      const r = await runChild({ dataset: ds, run, metrics: config.metrics, repeats: config.repeats ?? 1, threads: config.threads });
      if (r.error?.code === 'E_INPUT') throw new ConfigError(`${run.path}.params`, `${run.name} on ${ds.name}: ${r.error.message}`);
      results.push(r);
      opts.onResult?.(r);
    }
  }
  return {
    schema: RESULTS_SCHEMA,
    cfkit: version,
    name: config.name,
    createdAt: new Date().toISOString(),
    machine: machine(),
    metrics: config.metrics,
    repeats: config.repeats ?? 1,
    threads: config.threads,
    tolerances: config.tolerances,
    timeRatio: config.timeRatio,
    datasets,
    results,
  };
}

/** The results without timings and memory: a baseline of quality alone, comparable on any machine. */
export function qualityOnly(r: BenchResults): BenchResults {
  return { ...r, qualityOnly: true, results: r.results.map(({ fitSeconds: _f, peakRssMiB: _p, ...rest }) => rest) };
}
