/** `cfkit report`: one self-contained HTML page (inline SVG, no scripts, nothing fetched) from bench results. */
import { version } from '../version';
import type { ModelResult } from './child';
import type { BenchResults } from './run';
import { barChart, esc, lineChart, Series } from './svg';

function figure(svg: string, caption: string): string {
  return `<figure class="chart">${svg}<figcaption>${esc(caption)}</figcaption></figure>`;
}

// SANSA runs of one dataset over several densities: accuracy against model size, a line per factorizer.
function sansaSweep(rows: ModelResult[], metric: string): string | undefined {
  const sansa = rows.filter((r) => r.type === 'sansa' && !r.error && r.modelBytes && r.metrics[metric]);
  if (new Set(sansa.map((r) => r.params.density)).size < 2) return undefined;
  const byFactorizer = new Map<string, ModelResult[]>();
  for (const r of sansa) {
    const f = String(r.params.factorizer ?? 'cholmod');
    byFactorizer.set(f, [...(byFactorizer.get(f) ?? []), r]);
  }
  const series: Series[] = [...byFactorizer].map(([f, rs]) => ({
    name: `SANSA-${f.toUpperCase()}`,
    points: rs.map((r) => ({ x: r.modelBytes! / 2 ** 20, y: r.metrics[metric].mean, tip: `${r.model}: ${r.metrics[metric].mean.toFixed(4)}, ${(r.modelBytes! / 2 ** 20).toFixed(2)} MiB` })),
  }));
  const ease = rows.find((r) => r.type === 'ease' && !r.error && r.metrics[metric]);
  return lineChart({
    title: `SANSA: ${metric} against model size`,
    series,
    levels: ease ? [{ y: ease.metrics[metric].mean, name: ease.model }] : [],
    xLabel: 'model size (MiB, log scale)',
    yLabel: metric,
    logX: true,
    width: 480,
    height: 320,
  });
}

function datasetSection(run: BenchResults, dataset: string): string {
  const rows = run.results.filter((r) => r.dataset === dataset);
  const ok = rows.filter((r) => !r.error);
  const ds = run.datasets.find((d) => d.name === dataset);
  const charts: string[] = [];
  for (const m of run.metrics) {
    const have = ok.filter((r) => r.metrics[m]);
    if (!have.length) continue;
    charts.push(figure(barChart({ title: m, labels: have.map((r) => r.model), values: have.map((r) => r.metrics[m].mean), errors: have.map((r) => r.metrics[m].stderr), yLabel: m }), `${m}: mean over test users, bars ± one standard error`));
  }
  const timed = ok.filter((r) => r.fitSeconds);
  if (timed.length) charts.push(figure(barChart({ title: 'fit time', labels: timed.map((r) => r.model), values: timed.map((r) => r.fitSeconds!.median), yLabel: 'seconds' }), `median of ${run.repeats} fit(s)`));
  const sized = ok.filter((r) => r.modelBytes !== undefined);
  if (sized.length) charts.push(figure(barChart({ title: 'model size', labels: sized.map((r) => r.model), values: sized.map((r) => r.modelBytes! / 2 ** 20), yLabel: 'MiB' }), "the fitted model's parameters in memory"));
  const sweep = sansaSweep(rows, run.metrics[0]);
  if (sweep) charts.push(figure(sweep, 'SANSA over its densities, with EASE dashed where it ran'));
  const failed = rows.filter((r) => r.error).map((r) => `<li>${esc(r.model)}: ${esc(r.error!.code)} ${esc(r.error!.message)}</li>`);
  const shape = ds ? `${ds.shape.users} users × ${ds.shape.items} items, ${ds.shape.interactions} interactions; split ${esc(ds.split.kind)} (${ds.split.testUsers} test users); sha256 ${ds.sha256.slice(0, 16)}…` : '';
  return `<section><h2>${esc(dataset)}</h2><p class="meta">${shape}</p>${failed.length ? `<ul class="failed">${failed.join('')}</ul>` : ''}<div class="charts">${charts.join('\n')}</div></section>`;
}

/** The page for one or more results files, one section per run and dataset. */
export function renderReport(runs: BenchResults[]): string {
  const body = runs
    .map((run) => {
      const m = run.machine;
      const head = `<h1>${esc(run.name ?? 'cfkit bench')}</h1><p class="meta">${esc(run.createdAt)} · cfkit ${esc(run.cfkit)} · ${esc(m.cpu)}, ${m.threads} threads, BLAS core ${esc(m.blasCore)}, ${esc(m.device)}${run.qualityOnly ? ' · quality only' : ''}</p>`;
      const datasets = [...new Set(run.results.map((r) => r.dataset))];
      return head + datasets.map((d) => datasetSection(run, d)).join('\n');
    })
    .join('\n<hr>\n');
  const style = [
    'body{font-family:sans-serif;margin:24px;color:#111;background:#fff}',
    '.meta{color:#555;font-size:13px}',
    '.charts{display:flex;flex-wrap:wrap;gap:16px}',
    'figure.chart{margin:0;border:1px solid #ddd;padding:6px}',
    'figcaption{font-size:11px;color:#555;max-width:460px}',
    '.failed{color:#b00}',
  ].join('\n');
  return `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>cfkit bench report</title><style>${style}</style></head>\n<body>\n${body}\n<p class="meta">Made by cfkit ${esc(version)} (cfkit report).</p>\n</body></html>\n`;
}
