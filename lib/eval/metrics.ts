/**
 * Metric names and the evaluate() entry point. Ranking metrics are computed in native code over
 * batches of users (ALGORITHMS.md §0.2 definitions); rating metrics (RMSE, MAE) in double here.
 */
import { InputError } from '../errors';
import type { EvalSet } from '../data/split';
import { Interactions } from '../data/interactions';
import { native } from '../native';
import { runNative, RunOptions } from '../job';
import type { Recommender } from '../models/recommender';

/** Native metric kinds; the order matches cfkit::MetricKind. */
const KIND = { recall_liang: 0, recall_bars: 1, ndcg: 2, hit: 3, precision: 4, map: 5, auc: 6, psp: 7, coverage: 8 } as const;
type Kind = keyof typeof KIND;

/**
 * Accepted names (k is any positive integer):
 * - `recall@k`, `recall_liang@k`: hits / min(k, |T|) (Liang et al. 2018; SANSA and EASE papers)
 * - `hr@k`: the same quantity under ∞-AE's name "HR"
 * - `recall_bars@k`: hits / |T| (BARS / LightGCN)
 * - `ndcg@k`, `precision@k` (hits / k), `map@k` (normalised by min(k, |T|))
 * - `hit@k`: hit ratio, 1 when any target is in the top k
 * - `auc`: per-user AUC of targets against every other non-input item (ties count 1/2)
 * - `psp@k`: ∞-AE's propensity-scored precision (A = 0.55, B = 1.5 from training counts)
 * - `coverage@k`: share of the catalogue that appears in any user's top k (one global value)
 */
export type MetricName = string;

export interface ParsedMetric {
  name: string;
  kind: Kind;
  k: number;
}

export function parseMetric(name: string): ParsedMetric {
  const m = /^([a-z_]+)(?:@(\d+))?$/.exec(name.trim().toLowerCase());
  if (!m) throw new InputError(`cannot parse metric name '${name}'`);
  const alias: Record<string, Kind> = {
    recall: 'recall_liang',
    recall_liang: 'recall_liang',
    hr: 'recall_liang',
    recall_bars: 'recall_bars',
    ndcg: 'ndcg',
    hit: 'hit',
    hit_rate: 'hit',
    precision: 'precision',
    map: 'map',
    auc: 'auc',
    psp: 'psp',
    coverage: 'coverage',
  };
  const kind = alias[m[1]];
  if (!kind) throw new InputError(`unknown metric '${name}' (known: ${Object.keys(alias).join(', ')})`);
  if (kind === 'auc') {
    if (m[2] !== undefined) throw new InputError("'auc' takes no cut-off");
    return { name: name.trim().toLowerCase(), kind, k: 0 };
  }
  if (m[2] === undefined) throw new InputError(`metric '${name}' needs a cut-off, e.g. ${m[1]}@20`);
  const k = Number(m[2]);
  if (k < 1) throw new InputError(`metric '${name}' needs k >= 1`);
  return { name: name.trim().toLowerCase(), kind, k };
}

export interface EvaluateOptions extends RunOptions {
  /** Keep every user's value per metric. */
  perUser?: boolean;
  /** Item propensities for psp@k; by default computed from `train` with ∞-AE's A = 0.55, B = 1.5. */
  propensity?: Float32Array;
  /** Training data, used for psp@k propensities. */
  train?: Interactions;
}

export interface EvaluationReport {
  /** Mean over users with at least one target (coverage: the global share). */
  metrics: Record<string, number>;
  /** Standard error of the mean, std / sqrt(n) (0 for coverage). */
  stderr: Record<string, number>;
  /** Users that had targets and were averaged. */
  users: number;
  /** Users without targets, left out of the means. */
  skippedUsers: number;
  perUser?: Record<string, Float64Array>;
  seconds: number;
}

/** ∞-AE's propensity: w_i = 1 + C (f_i + B)^-A, C = (ln N − 1)(B + 1)^A, f_i = item count, N = interactions. */
export function itemPropensity(train: Interactions, A = 0.55, B = 1.5): Float32Array {
  const f = train.itemCounts();
  const C = (Math.log(train.nnz) - 1) * Math.pow(B + 1, A);
  return Float32Array.from(f, (c) => 1 + C * Math.pow(c + B, -A));
}

function checkEvalSet(set: EvalSet, numItems: number): void {
  const { inputs, targets } = set;
  if (inputs.numUsers !== targets.numUsers) throw new InputError('inputs and targets must have the same rows');
  if (inputs.numItems !== numItems || targets.numItems !== numItems)
    throw new InputError(`inputs/targets have ${inputs.numItems}/${targets.numItems} items but the model has ${numItems}; align them with alignItems()`);
}

async function runEvaluation(
  handle: ReturnType<Recommender['nativeHandle']>,
  set: EvalSet,
  metrics: readonly string[],
  opts: EvaluateOptions,
): Promise<EvaluationReport> {
  if (metrics.length === 0) throw new InputError('no metrics requested');
  const parsed = metrics.map(parseMetric);
  let propensity = opts.propensity;
  if (parsed.some((p) => p.kind === 'psp') && !propensity) {
    if (!opts.train) throw new InputError('psp@k needs `train` (or `propensity`) in the evaluate options');
    propensity = itemPropensity(opts.train);
  }
  const t0 = performance.now();
  const res = await runNative(opts, (job) =>
    native().evaluate(
      handle,
      set.inputs.csr(),
      set.targets.csr(),
      { kinds: Int32Array.from(parsed, (p) => KIND[p.kind]), ks: Int32Array.from(parsed, (p) => p.k), propensity, users: set.users },
      job,
    ),
  );
  const M = parsed.length;
  const rows = set.inputs.numUsers;
  let n = 0;
  for (let r = 0; r < rows; r++) n += res.valid[r];
  const report: EvaluationReport = { metrics: {}, stderr: {}, users: n, skippedUsers: rows - n, seconds: 0 };
  if (opts.perUser) report.perUser = {};
  parsed.forEach((p, mi) => {
    if (p.kind === 'coverage') {
      report.metrics[p.name] = res.coverage[mi];
      report.stderr[p.name] = 0;
      return;
    }
    let sum = 0;
    let sq = 0;
    let cnt = 0;
    const per = opts.perUser ? new Float64Array(rows).fill(NaN) : undefined;
    for (let r = 0; r < rows; r++) {
      if (!res.valid[r]) continue;
      const v = res.perUser[r * M + mi];
      if (per) per[r] = v;
      if (Number.isNaN(v)) continue; // AUC is undefined for a user whose every item is a target
      sum += v;
      sq += v * v;
      cnt++;
    }
    const mean = cnt ? sum / cnt : NaN;
    report.metrics[p.name] = mean;
    report.stderr[p.name] = cnt > 1 ? Math.sqrt(Math.max(0, sq / cnt - mean * mean) / cnt) : 0;
    if (per && report.perUser) report.perUser[p.name] = per;
  });
  report.seconds = (performance.now() - t0) / 1000;
  return report;
}

/** Evaluates a trained model on an EvalSet: scores each row's inputs, masks them, ranks, compares. */
export async function evaluate(
  model: Recommender,
  set: EvalSet,
  metrics: readonly string[],
  opts: EvaluateOptions = {},
): Promise<EvaluationReport> {
  checkEvalSet(set, model.numItems);
  return runEvaluation(model.nativeHandle(), set, metrics, opts);
}

/**
 * The same metrics for scores computed elsewhere: `scores` is rows x items (row-major), one row per
 * EvalSet row. Input items are masked exactly as for a cfkit model.
 */
export async function evaluateScores(
  scores: Float32Array,
  set: EvalSet,
  metrics: readonly string[],
  opts: EvaluateOptions = {},
): Promise<EvaluationReport> {
  const rows = set.inputs.numUsers;
  const items = set.inputs.numItems;
  checkEvalSet(set, items);
  if (Object.prototype.toString.call(scores) !== '[object Float32Array]' || scores.length !== rows * items)
    throw new InputError(`scores must be a Float32Array of rows x items = ${rows * items} values`);
  const handle = native().fixedScores(scores, rows, items);
  try {
    return await runEvaluation(handle, set, metrics, opts);
  } finally {
    handle.dispose();
  }
}

/** RMSE and MAE of predictions against true ratings, accumulated in double. */
export function ratingErrors(predicted: ArrayLike<number>, actual: ArrayLike<number>): { rmse: number; mae: number; n: number } {
  if (predicted.length !== actual.length) throw new InputError('predicted and actual must have the same length');
  if (predicted.length === 0) throw new InputError('no ratings to compare');
  let se = 0;
  let ae = 0;
  for (let k = 0; k < predicted.length; k++) {
    const d = predicted[k] - actual[k];
    if (!Number.isFinite(d)) throw new InputError(`non-finite prediction or rating at position ${k}`);
    se += d * d;
    ae += Math.abs(d);
  }
  return { rmse: Math.sqrt(se / predicted.length), mae: ae / predicted.length, n: predicted.length };
}
