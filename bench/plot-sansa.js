#!/usr/bin/env node
// Renders bench/results/sansa.json as an SVG like the SANSA paper's Figure 2: the headline recall
// against weight density (log scale), one panel per dataset, one line per factorizer, EASE dashed,
// and hollow rings for the reference implementation where bench/sansa.js --reference measured it.
//   node bench/plot-sansa.js [results.json] [out.svg]
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const input = process.argv[2] || path.join(__dirname, 'results', 'sansa.json');
const output = process.argv[3] || path.join(__dirname, 'results', 'sansa.svg');
const results = JSON.parse(fs.readFileSync(input, 'utf8'));
const headline = { 'ml-1m': 'recall@20', gowalla: 'recall_bars@20', lastfm: 'recall@20' };
const titles = { 'ml-1m': 'ML-1M (strong gen.)', gowalla: 'Gowalla (LightGCN split)', lastfm: 'Last.fm (strong gen.)' };
const colors = { cholmod: '#1f77b4', icf: '#d62728', ease: '#444' };

// The chart code is cfkit report's (lib/bench/svg.ts), so both draw SANSA sweeps alike.
const { lineChart } = require(path.join(__dirname, '..', 'dist', 'bench', 'svg'));

const datasets = [...new Set(results.runs.filter((r) => r.accuracy).map((r) => r.dataset))];
const W = 360;
const H = 280;
const panels = [];
for (const ds of datasets) {
  const metric = headline[ds];
  const runs = results.runs.filter((r) => r.dataset === ds && r.accuracy);
  const sansa = runs.filter((r) => r.model !== 'ease');
  if (!sansa.length) continue;
  let ease = runs.find((r) => r.model === 'ease')?.accuracy?.[metric];
  let easeLabel = 'EASE';
  if (ease === undefined && ds === 'gowalla' && results.references?.gowallaEase) {
    ease = results.references.gowallaEase[metric];
    easeLabel = 'EASE (reference figure)';
  }
  const refY = (r) => r.reference?.accuracy?.[metric];
  const series = [];
  for (const model of ['cholmod', 'icf']) {
    const pts = sansa.filter((r) => r.model === model);
    if (!pts.length) continue;
    series.push({
      name: `SANSA-${model.toUpperCase()} (λ=${pts[0].l2})`,
      color: colors[model],
      points: pts.map((r) => ({ x: r.density, y: r.accuracy[metric], tip: `${model} ${r.density}: ${r.accuracy[metric].toFixed(4)}, fit ${r.fitSeconds.toFixed(1)} s, ${r.peakRssMiB.toFixed(0)} MiB` })),
    });
    const refs = pts.filter((r) => refY(r) !== undefined);
    if (refs.length)
      series.push({
        name: `reference ${model} (glami/sansa)`,
        color: colors[model],
        rings: true,
        points: refs.map((r) => ({ x: r.density, y: refY(r), tip: `reference ${model} ${r.density}: ${refY(r).toFixed(4)}, fit ${r.reference.fitSeconds.toFixed(1)} s, ${r.reference.peakRssMiB.toFixed(0)} MiB` })),
      });
  }
  const svg = lineChart({ title: titles[ds] ?? ds, series, levels: ease === undefined ? [] : [{ y: ease, name: easeLabel, color: colors.ease }], xLabel: 'weight density', yLabel: metric, logX: true, width: W, height: H });
  panels.push(svg.replace('<svg ', `<svg x="${panels.length * W}" `));
}
const out = [`<svg xmlns="http://www.w3.org/2000/svg" width="${Math.max(1, panels.length) * W}" height="${H}">`, ...panels, '</svg>', ''].join('\n');
fs.writeFileSync(output, out);
console.error(`wrote ${path.relative(process.cwd(), output)}`);
