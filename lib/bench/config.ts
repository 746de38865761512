/**
 * `cfkit bench` configuration: datasets, a split, models and metrics, checked field by field so a bad
 * config names the JSON path of what is wrong (schema/bench-config.schema.json describes the same).
 */
import * as path from 'node:path';
import { CfkitError } from '../errors';
import { parseMetric } from '../eval/metrics';
import { MODEL_TYPES, ModelType } from '../models/load';

export type SplitConfig =
  | { kind: 'holdout-users'; testUsers: number; minInteractions?: number; targetFraction?: number; seed?: number }
  | { kind: 'leave-k-out'; k?: number; by?: 'random' | 'latest'; seed?: number }
  | { kind: 'per-user'; fractions?: [number, number, number]; minInteractions?: number; seed?: number }
  | { kind: 'ratings'; testFraction?: number; seed?: number }
  | { kind: 'fixed'; test: string; options?: Record<string, unknown> };

export interface DatasetConfig {
  name: string;
  /** A data file (relative to the config's folder) and the options of Interactions.fromFile. */
  file?: string;
  options?: Record<string, unknown>;
  /** Or the built-in generator's options (syntheticInteractions), seed included. */
  synthetic?: Record<string, unknown>;
  /** This dataset's split, instead of the config's. */
  split?: SplitConfig;
}


export interface ModelConfig {
  /** Unique label in results; default: the type and any swept values. */
  name?: string;
  type: ModelType | 'custom';
  /** The fit's options (EASE.fit, SANSA.fit, ...). */
  params?: Record<string, unknown>;
  /** One run per value of each listed parameter (all combinations), e.g. { "density": [5e-4, 1e-3] }. */
  sweep?: Record<string, unknown[]>;
  /** type 'custom': a module (relative to the config) exporting `fit(train, params, options)` that returns a cfkit Recommender. */
  module?: string;
  /** The datasets (by name) this model runs on. Default: all of them. */
  datasets?: string[];
}

export interface BenchConfig {
  name?: string;
  datasets: DatasetConfig[];
  split?: SplitConfig;
  models: ModelConfig[];
  /** Metric names, e.g. "recall@20"; a name without "@k" is taken at every k of `ks`. "rmse" and "mae" are measured for rating models (mf) on a 'ratings' split. */
  metrics: string[];
  ks?: number[];
  /** Fits per model; fit time is their median, metrics come from the first. Default 1. */
  repeats?: number;
  threads?: number;
  /** Absolute tolerance per metric for baseline comparisons (default max(2·SE of the difference, 0.002)). */
  tolerances?: Record<string, number>;
  /** Fit time regresses above baseline × timeRatio, on the same machine. Default 1.3. */
  timeRatio?: number;
}

/** One model run: a config entry with its sweep values applied. */
export interface ModelRun {
  name: string;
  type: ModelType | 'custom';
  params: Record<string, unknown>;
  module?: string;
  /** Dataset names it runs on; undefined: all. */
  datasets?: string[];
  /** Where it came from in the config, for error messages. */
  path: string;
}

export class ConfigError extends CfkitError {
  readonly jsonPath: string;
  constructor(jsonPath: string, message: string) {
    super('E_INPUT', `bench config ${jsonPath}: ${message}`);
    this.jsonPath = jsonPath;
  }
}

type Json = unknown;
const isObject = (v: Json): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);

function expectObject(v: Json, p: string): Record<string, Json> {
  if (!isObject(v)) throw new ConfigError(p, `must be an object, got ${JSON.stringify(v)}`);
  return v;
}

function onlyKeys(o: Record<string, Json>, p: string, keys: readonly string[]): void {
  for (const k of Object.keys(o)) if (!keys.includes(k)) throw new ConfigError(`${p}.${k}`, `is not a known field (known: ${keys.join(', ')})`);
}

function str(v: Json, p: string, optional = false): string | undefined {
  if (v === undefined && optional) return undefined;
  if (typeof v !== 'string' || v.length === 0) throw new ConfigError(p, `must be a non-empty string, got ${JSON.stringify(v)}`);
  return v;
}

function int(v: Json, p: string, min: number, max: number, optional = true): number | undefined {
  if (v === undefined && optional) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new ConfigError(p, `must be an integer in [${min}, ${max}], got ${JSON.stringify(v)}`);
  return v;
}

function fraction(v: Json, p: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !(v > 0 && v < 1)) throw new ConfigError(p, `must be a number between 0 and 1, got ${JSON.stringify(v)}`);
  return v;
}

const SPLIT_KEYS: Record<SplitConfig['kind'], string[]> = {
  'holdout-users': ['kind', 'testUsers', 'minInteractions', 'targetFraction', 'seed'],
  'leave-k-out': ['kind', 'k', 'by', 'seed'],
  'per-user': ['kind', 'fractions', 'minInteractions', 'seed'],
  ratings: ['kind', 'testFraction', 'seed'],
  fixed: ['kind', 'test', 'options'],
};

function split(v: Json, p: string, dir: string): SplitConfig {
  const o = expectObject(v, p);
  const kind = o.kind as SplitConfig['kind'];
  if (!(typeof kind === 'string' && kind in SPLIT_KEYS)) throw new ConfigError(`${p}.kind`, `must be one of ${Object.keys(SPLIT_KEYS).join(', ')}, got ${JSON.stringify(o.kind)}`);
  onlyKeys(o, p, SPLIT_KEYS[kind]);
  int(o.seed, `${p}.seed`, 0, 2 ** 32 - 1);
  int(o.minInteractions, `${p}.minInteractions`, 1, 1e6);
  switch (kind) {
    case 'holdout-users':
      int(o.testUsers, `${p}.testUsers`, 1, 1e9, false);
      fraction(o.targetFraction, `${p}.targetFraction`);
      break;
    case 'leave-k-out':
      int(o.k, `${p}.k`, 1, 1e6);
      if (o.by !== undefined && o.by !== 'random' && o.by !== 'latest') throw new ConfigError(`${p}.by`, `must be 'random' or 'latest'`);
      break;
    case 'per-user':
      if (o.fractions !== undefined) {
        const f = o.fractions;
        if (!Array.isArray(f) || f.length !== 3 || !f.every((x) => typeof x === 'number' && x >= 0) || Math.abs((f as number[]).reduce((a, b) => a + b, 0) - 1) > 1e-9)
          throw new ConfigError(`${p}.fractions`, 'must be three shares [train, validation, test] that sum to 1');
      }
      break;
    case 'ratings':
      fraction(o.testFraction, `${p}.testFraction`);
      break;
    case 'fixed':
      o.test = path.resolve(dir, str(o.test, `${p}.test`)!);
      if (o.options !== undefined) expectObject(o.options, `${p}.options`);
      break;
  }
  return o as unknown as SplitConfig;
}

function params(v: Json, p: string): Record<string, unknown> {
  if (v === undefined) return {};
  const o = expectObject(v, p);
  for (const k of ['onProgress', 'signal']) if (k in o) throw new ConfigError(`${p}.${k}`, 'cannot be set from a config');
  return o;
}

function expandModel(v: Json, p: string, dir: string): ModelRun[] {
  const o = expectObject(v, p);
  onlyKeys(o, p, ['name', 'type', 'params', 'sweep', 'module', 'datasets']);
  let datasets: string[] | undefined;
  if (o.datasets !== undefined) {
    if (!Array.isArray(o.datasets) || o.datasets.length === 0) throw new ConfigError(`${p}.datasets`, 'must be a non-empty array of dataset names');
    datasets = o.datasets.map((d, i) => str(d, `${p}.datasets[${i}]`)!);
  }
  const type = o.type as ModelRun['type'];
  if (!([...MODEL_TYPES, 'custom'] as string[]).includes(type as string)) throw new ConfigError(`${p}.type`, `must be one of ${[...MODEL_TYPES, 'custom'].join(', ')}, got ${JSON.stringify(o.type)}`);
  const name = str(o.name, `${p}.name`, true);
  let module: string | undefined;
  if (type === 'custom') module = path.resolve(dir, str(o.module, `${p}.module`)!);
  else if (o.module !== undefined) throw new ConfigError(`${p}.module`, "is only for type 'custom'");
  const base = params(o.params, `${p}.params`);
  let runs: { params: Record<string, unknown>; label: string[] }[] = [{ params: base, label: [] }];
  if (o.sweep !== undefined) {
    const sweep = expectObject(o.sweep, `${p}.sweep`);
    for (const [key, values] of Object.entries(sweep)) {
      if (!Array.isArray(values) || values.length === 0) throw new ConfigError(`${p}.sweep.${key}`, 'must be a non-empty array of values');
      runs = runs.flatMap((r) => values.map((value) => ({ params: { ...r.params, [key]: value }, label: [...r.label, `${key}=${JSON.stringify(value)}`] })));
    }
  }
  return runs.map((r) => ({ name: [name ?? type, ...r.label].join(' '), type, params: r.params, module, datasets, path: p }));
}

function expandMetrics(v: Json, ks: Json, p: string): string[] {
  if (!Array.isArray(v) || v.length === 0) throw new ConfigError(`${p}.metrics`, 'must be a non-empty array of metric names');
  let kList: number[] | undefined;
  if (ks !== undefined) {
    if (!Array.isArray(ks) || ks.length === 0) throw new ConfigError(`${p}.ks`, 'must be a non-empty array of integers');
    kList = ks.map((k, i) => int(k, `${p}.ks[${i}]`, 1, 100_000, false)!);
  }
  const out: string[] = [];
  v.forEach((m, i) => {
    const name = str(m, `${p}.metrics[${i}]`)!.trim().toLowerCase();
    const names = name === 'rmse' || name === 'mae' ? [name] : name.includes('@') || name === 'auc' ? [name] : kList ? kList.map((k) => `${name}@${k}`) : [name];
    for (const n of names) {
      if (n !== 'rmse' && n !== 'mae') {
        try {
          parseMetric(n);
        } catch (err) {
          throw new ConfigError(`${p}.metrics[${i}]`, (err as Error).message);
        }
      }
      if (!out.includes(n)) out.push(n);
    }
  });
  return out;
}

export interface ResolvedConfig extends BenchConfig {
  runs: ModelRun[];
  /** The config file's folder; relative paths in it are resolved against it. */
  dir: string;
}

/** Checks a parsed config and resolves its paths against `dir`; ConfigError names the bad field. */
export function checkConfig(raw: unknown, dir: string): ResolvedConfig {
  const o = expectObject(raw, '$');
  onlyKeys(o, '$', ['$schema', 'name', 'datasets', 'split', 'models', 'metrics', 'ks', 'repeats', 'threads', 'tolerances', 'timeRatio']);
  str(o.name, '$.name', true);
  int(o.repeats, '$.repeats', 1, 1000);
  int(o.threads, '$.threads', 1, 1024);
  if (o.timeRatio !== undefined && !(typeof o.timeRatio === 'number' && o.timeRatio >= 1)) throw new ConfigError('$.timeRatio', 'must be a number >= 1');
  if (o.tolerances !== undefined) {
    const t = expectObject(o.tolerances, '$.tolerances');
    for (const [k, x] of Object.entries(t)) if (!(typeof x === 'number' && x >= 0)) throw new ConfigError(`$.tolerances.${k}`, 'must be a number >= 0');
  }
  const metrics = expandMetrics(o.metrics, o.ks, '$');
  const topSplit = o.split === undefined ? undefined : split(o.split, '$.split', dir);
  if (!Array.isArray(o.datasets) || o.datasets.length === 0) throw new ConfigError('$.datasets', 'must be a non-empty array');
  const names = new Set<string>();
  const datasets = o.datasets.map((d, i) => {
    const p = `$.datasets[${i}]`;
    const ds = expectObject(d, p);
    onlyKeys(ds, p, ['name', 'file', 'options', 'synthetic', 'split']);
    const name = str(ds.name, `${p}.name`)!;
    if (names.has(name)) throw new ConfigError(`${p}.name`, `repeats the dataset name ${JSON.stringify(name)}`);
    names.add(name);
    if ((ds.file === undefined) === (ds.synthetic === undefined)) throw new ConfigError(p, "needs exactly one of 'file' and 'synthetic'");
    if (ds.file !== undefined) ds.file = path.resolve(dir, str(ds.file, `${p}.file`)!);
    if (ds.options !== undefined) expectObject(ds.options, `${p}.options`);
    if (ds.synthetic !== undefined) expectObject(ds.synthetic, `${p}.synthetic`);
    const s = ds.split === undefined ? topSplit : split(ds.split, `${p}.split`, dir);
    if (!s) throw new ConfigError(`${p}.split`, "is missing: give 'split' here or at the top level");
    return { ...(ds as unknown as DatasetConfig), split: s };
  });
  if (!Array.isArray(o.models) || o.models.length === 0) throw new ConfigError('$.models', 'must be a non-empty array');
  const runs = o.models.flatMap((m, i) => expandModel(m, `$.models[${i}]`, dir));
  for (const r of runs)
    (r.datasets ?? []).forEach((d, i) => {
      if (!names.has(d)) throw new ConfigError(`${r.path}.datasets[${i}]`, `names no dataset (datasets: ${[...names].join(', ')})`);
    });
  if (metrics.some((m) => m === 'rmse' || m === 'mae') && !datasets.some((d) => d.split.kind === 'ratings'))
    throw new ConfigError('$.metrics', "rmse and mae need a dataset with a 'ratings' split");
  const seen = new Map<string, string>();
  for (const r of runs) {
    if (seen.has(r.name)) throw new ConfigError(`${r.path}.name`, `gives the model name ${JSON.stringify(r.name)} twice (also ${seen.get(r.name)}): name them`);
    seen.set(r.name, r.path);
  }
  return { ...(o as unknown as BenchConfig), metrics, datasets, split: topSplit, runs, dir };
}
