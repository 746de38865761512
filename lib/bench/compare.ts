/** Bench results against a baseline: per metric and fit time, a verdict, and the table people read. */
import type { ModelResult } from './child';
import type { BenchResults, Machine } from './run';

export type Verdict = 'pass' | 'improved' | 'regressed' | 'failed' | 'missing' | 'new' | 'not compared';

export interface ComparisonRow {
  dataset: string;
  model: string;
  /** A metric name, or 'fit seconds'. */
  measure: string;
  baseline?: number;
  now?: number;
  delta?: number;
  /** The allowed drop (metrics, absolute) or ratio (times). */
  tolerance?: number;
  verdict: Verdict;
  note?: string;
}

export interface Comparison {
  rows: ComparisonRow[];
  regressions: number;
  machineMatches: boolean;
}

/** Metrics where lower is better. */
const LOWER_IS_BETTER = new Set(['rmse', 'mae']);
/** The smallest drop that counts as a regression, whatever the standard errors: below it, noise. */
export const MIN_TOLERANCE = 0.002;
export const DEFAULT_TIME_RATIO = 1.3;

export function sameMachine(a: Machine, b: Machine): boolean {
  return a.cpu === b.cpu && a.threads === b.threads && a.blasCore === b.blasCore && a.device === b.device && a.platform === b.platform;
}

const key = (r: { dataset: string; model: string }) => `${r.dataset}\u0000${r.model}`;
const REGRESSIONS: Verdict[] = ['regressed', 'failed', 'missing'];

export interface CompareOptions {
  /** Absolute tolerance per metric; default from the baseline's config, else max(2·SE of the difference, 0.002). */
  tolerances?: Record<string, number>;
  /** Default from the config, else 1.3. */
  timeRatio?: number;
}

function compareMetric(dataset: string, model: string, m: string, base: ModelResult, now: ModelResult, tolerances: Record<string, number>): ComparisonRow {
  const b = base.metrics[m];
  const n = now.metrics[m];
  if (!n) return { dataset, model, measure: m, baseline: b.mean, verdict: 'missing', note: 'not measured now' };
  const delta = n.mean - b.mean;
  // The difference of two independent means has SE √(SE₁² + SE₂²); two of them is about a 95 % band.
  const tolerance = tolerances[m] ?? Math.max(2 * Math.sqrt(b.stderr ** 2 + n.stderr ** 2), MIN_TOLERANCE);
  const worse = LOWER_IS_BETTER.has(m) ? delta > tolerance : delta < -tolerance;
  const better = LOWER_IS_BETTER.has(m) ? delta < -tolerance : delta > tolerance;
  return { dataset, model, measure: m, baseline: b.mean, now: n.mean, delta, tolerance, verdict: worse ? 'regressed' : better ? 'improved' : 'pass' };
}

export function compareResults(now: BenchResults, base: BenchResults, opts: CompareOptions = {}): Comparison {
  const tolerances = { ...(base.tolerances ?? {}), ...(now.tolerances ?? {}), ...(opts.tolerances ?? {}) };
  const timeRatio = opts.timeRatio ?? now.timeRatio ?? base.timeRatio ?? DEFAULT_TIME_RATIO;
  const machineMatches = sameMachine(now.machine, base.machine);
  const current = new Map(now.results.map((r) => [key(r), r]));
  const rows: ComparisonRow[] = [];
  for (const b of base.results) {
    const n = current.get(key(b));
    const { dataset, model } = b;
    if (!n) {
      rows.push({ dataset, model, measure: '(model)', verdict: 'missing', note: 'in the baseline, not in this run' });
      continue;
    }
    current.delete(key(b));
    if (n.error) {
      rows.push({ dataset, model, measure: '(model)', verdict: 'failed', note: `${n.error.code}: ${n.error.message}` });
      continue;
    }
    for (const m of Object.keys(b.metrics)) rows.push(compareMetric(dataset, model, m, b, n, tolerances));
    if (b.fitSeconds && n.fitSeconds) {
      const ratio = n.fitSeconds.median / b.fitSeconds.median;
      rows.push(
        machineMatches
          ? { dataset, model, measure: 'fit seconds', baseline: b.fitSeconds.median, now: n.fitSeconds.median, delta: ratio, tolerance: timeRatio, verdict: ratio > timeRatio ? 'regressed' : 'pass' }
          : { dataset, model, measure: 'fit seconds', baseline: b.fitSeconds.median, now: n.fitSeconds.median, verdict: 'not compared', note: 'another machine' },
      );
    }
  }
  for (const n of current.values()) rows.push({ dataset: n.dataset, model: n.model, measure: '(model)', verdict: n.error ? 'failed' : 'new', note: n.error?.message });
  return { rows, regressions: rows.filter((r) => REGRESSIONS.includes(r.verdict)).length, machineMatches };
}

function fmt(x: number | undefined, measure: string): string {
  if (x === undefined) return '';
  return measure === 'fit seconds' ? `${x.toFixed(2)} s` : x.toFixed(4);
}

const MARK: Record<Verdict, string> = {
  pass: 'pass',
  improved: 'improved',
  regressed: '**REGRESSED**',
  failed: '**FAILED**',
  missing: '**MISSING**',
  new: 'new',
  'not compared': 'not compared',
};

/** A markdown table: baseline, now, delta and verdict per dataset, model and measure. */
export function markdownTable(c: Comparison): string {
  const lines = ['| dataset | model | measure | baseline | now | delta | verdict |', '|---|---|---|---:|---:|---:|---|'];
  for (const r of c.rows) {
    const delta = r.delta === undefined ? '' : r.measure === 'fit seconds' ? `×${r.delta.toFixed(2)} (max ×${r.tolerance!.toFixed(2)})` : `${r.delta >= 0 ? '+' : ''}${r.delta.toFixed(4)} (±${r.tolerance!.toFixed(4)})`;
    const verdict = r.note ? `${MARK[r.verdict]} (${r.note.replace(/\|/g, '\\|')})` : MARK[r.verdict];
    lines.push(`| ${r.dataset} | ${r.model} | ${r.measure} | ${fmt(r.baseline, r.measure)} | ${fmt(r.now, r.measure)} | ${delta} | ${verdict} |`);
  }
  lines.push('', c.regressions ? `**${c.regressions} regression${c.regressions > 1 ? 's' : ''}.**` : 'No regressions.');
  if (!c.machineMatches) lines.push('Fit times were not compared: the baseline comes from another machine (CPU, threads, BLAS core or device).');
  return lines.join('\n') + '\n';
}

export interface BenchmarkEntry {
  name: string;
  unit: string;
  value: number;
  range?: string;
}

/** The two arrays github-action-benchmark's 'customBiggerIsBetter' and 'customSmallerIsBetter' tools read. */
export function githubActionBenchmark(r: BenchResults): { customBiggerIsBetter: BenchmarkEntry[]; customSmallerIsBetter: BenchmarkEntry[] } {
  const bigger: BenchmarkEntry[] = [];
  const smaller: BenchmarkEntry[] = [];
  for (const x of r.results) {
    if (x.error) continue;
    const name = `${x.dataset} / ${x.model}`;
    for (const [m, v] of Object.entries(x.metrics)) (LOWER_IS_BETTER.has(m) ? smaller : bigger).push({ name: `${name} / ${m}`, unit: '', value: v.mean, range: `± ${v.stderr.toFixed(4)}` });
    if (x.fitSeconds) smaller.push({ name: `${name} / fit seconds`, unit: 's', value: x.fitSeconds.median });
    if (x.peakRssMiB !== undefined) smaller.push({ name: `${name} / peak RSS`, unit: 'MiB', value: x.peakRssMiB });
    if (x.modelBytes !== undefined) smaller.push({ name: `${name} / model size`, unit: 'bytes', value: x.modelBytes });
  }
  return { customBiggerIsBetter: bigger, customSmallerIsBetter: smaller };
}
