/**
 * One model of a bench run, in its own process so that its peak RSS is its own: loads the dataset,
 * splits it, fits `repeats` times and evaluates the first fit. Driven by run.ts over IPC.
 */
import { InputError } from '../errors';
import type { Interactions } from '../data/interactions';
import { evaluate, ratingErrors } from '../eval/metrics';
import { MatrixFactorization } from '../models/mf';
import type { Recommender } from '../models/recommender';
import { MODEL_FITS } from '../models/load';
import type { DatasetConfig, ModelRun } from './config';
import { loadDataset, makeSplit } from './data';

export interface MetricValue {
  mean: number;
  stderr: number;
  /** Users (or ratings, for rmse and mae) averaged. */
  n: number;
}

export interface ModelResult {
  dataset: string;
  model: string;
  type: string;
  params: Record<string, unknown>;
  fitSeconds?: { median: number; runs: number[] };
  peakRssMiB?: number;
  /** Native memory of the fitted model's parameters. */
  modelBytes?: number;
  metrics: Record<string, MetricValue>;
  /** Set when the model could not be fitted or evaluated. */
  error?: { code: string; message: string };
}

export interface ChildRequest {
  dataset: DatasetConfig;
  run: ModelRun;
  metrics: string[];
  repeats: number;
  threads?: number;
}

async function fit(run: ModelRun, train: Interactions, threads: number | undefined): Promise<Recommender> {
  const opts = { ...run.params, threads: (run.params.threads as number | undefined) ?? threads };
  if (run.type !== 'custom') return MODEL_FITS[run.type](train, opts);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(run.module!) as { fit?: (t: Interactions, p: Record<string, unknown>, o: { threads?: number }) => Promise<Recommender> };
  if (typeof mod.fit !== 'function') throw new InputError(`${run.module} does not export fit(train, params, options)`);
  return mod.fit(train, run.params, { threads });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function ratingMetrics(model: MatrixFactorization, test: Interactions, names: string[]): Record<string, MetricValue> {
  const users = Array.from(test.rowOfEntry(), (u) => test.userIds.id(u));
  const items = Array.from(test.indices, (i) => test.itemIds.id(i));
  const predicted = model.predict(users, items);
  const { rmse, mae, n } = ratingErrors(predicted, test.values);
  // Standard errors of the mean absolute and squared errors; rmse's by the delta method.
  let sAbs = 0, sSq = 0;
  for (let p = 0; p < n; p++) {
    const e = predicted[p] - test.values[p];
    sAbs += (Math.abs(e) - mae) ** 2;
    sSq += (e * e - rmse * rmse) ** 2;
  }
  const seMse = Math.sqrt(sSq / Math.max(1, n - 1) / n);
  const out: Record<string, MetricValue> = {};
  if (names.includes('rmse')) out.rmse = { mean: rmse, stderr: rmse > 0 ? seMse / (2 * rmse) : 0, n };
  if (names.includes('mae')) out.mae = { mean: mae, stderr: Math.sqrt(sAbs / Math.max(1, n - 1) / n), n };
  return out;
}

export async function runModel(req: ChildRequest): Promise<ModelResult> {
  const { dataset, run } = req;
  const result: ModelResult = { dataset: dataset.name, model: run.name, type: run.type, params: run.params, metrics: {} };
  const data = await loadDataset(dataset);
  const split = await makeSplit(data, dataset.split!);
  const runs: number[] = [];
  for (let r = 0; r < req.repeats; r++) {
    const t0 = performance.now();
    const model = await fit(run, split.train, req.threads);
    runs.push((performance.now() - t0) / 1000);
    try {
      if (r > 0) continue;
      result.modelBytes = model.nativeHandle().memoryBytes();
      const topk = req.metrics.filter((m) => m !== 'rmse' && m !== 'mae');
      if (topk.length) {
        const report = await evaluate(model, split.test, topk, { threads: req.threads, train: split.train });
        for (const m of topk) result.metrics[m] = { mean: report.metrics[m], stderr: report.stderr[m], n: report.users };
      }
      // Rating errors where there are held-out ratings and a model that predicts them.
      if (topk.length < req.metrics.length && split.ratings && model instanceof MatrixFactorization)
        Object.assign(result.metrics, ratingMetrics(model, split.ratings, req.metrics));
    } finally {
      model.dispose();
    }
  }
  result.fitSeconds = { median: median(runs), runs };
  result.peakRssMiB = process.resourceUsage().maxRSS / 1024;
  return result;
}

if (require.main === module) {
  process.once('message', (req: ChildRequest) => {
    runModel(req).then(
      (result) => process.send!({ ok: true, result }, () => process.exit(0)),
      (err: Error & { code?: string }) => process.send!({ ok: false, error: { code: err.code ?? 'E_INTERNAL', message: err.message } }, () => process.exit(0)),
    );
  });
}
