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

const datasets = [...new Set(results.runs.filter((r) => r.accuracy).map((r) => r.dataset))];
const W = 360;
const H = 280;
const M = { l: 56, r: 14, t: 34, b: 46 };
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;');
const parts = [];
datasets.forEach((ds, k) => {
  const metric = headline[ds];
  const runs = results.runs.filter((r) => r.dataset === ds && r.accuracy);
  const sansa = runs.filter((r) => r.model !== 'ease');
  let ease = runs.find((r) => r.model === 'ease')?.accuracy?.[metric];
  let easeLabel = 'EASE';
  if (ease === undefined && ds === 'gowalla' && results.references?.gowallaEase) {
    ease = results.references.gowallaEase[metric];
    easeLabel = 'EASE (reference figure)';
  }
  const dens = sansa.map((r) => r.density);
  const refY = (r) => r.reference?.accuracy?.[metric];
  const ys = sansa.map((r) => r.accuracy[metric]).concat(ease ?? [], sansa.map(refY).filter((y) => y !== undefined));
  if (!dens.length) return;
  const x0 = Math.log10(Math.min(...dens)) - 0.15;
  const x1 = Math.log10(Math.max(...dens)) + 0.15;
  const y0 = Math.max(0, Math.min(...ys) - 0.02);
  const y1 = Math.max(...ys) + 0.02;
  const ox = k * W;
  const px = (d) => ox + M.l + ((Math.log10(d) - x0) / (x1 - x0)) * (W - M.l - M.r);
  const py = (y) => M.t + (1 - (y - y0) / (y1 - y0)) * (H - M.t - M.b);
  parts.push(`<text x="${ox + W / 2}" y="18" text-anchor="middle" font-weight="bold">${esc(titles[ds] ?? ds)}</text>`);
  parts.push(`<line x1="${ox + M.l}" y1="${H - M.b}" x2="${ox + W - M.r}" y2="${H - M.b}" stroke="#000"/>`);
  parts.push(`<line x1="${ox + M.l}" y1="${M.t}" x2="${ox + M.l}" y2="${H - M.b}" stroke="#000"/>`);
  for (let e = Math.ceil(x0); e <= Math.floor(x1); e++) {
    for (const m of [1, 2, 5]) {
      const d = m * 10 ** e;
      if (Math.log10(d) < x0 || Math.log10(d) > x1) continue;
      parts.push(`<line x1="${px(d)}" y1="${H - M.b}" x2="${px(d)}" y2="${H - M.b + 4}" stroke="#000"/>`);
      parts.push(`<text x="${px(d)}" y="${H - M.b + 16}" text-anchor="middle" font-size="10">${d.toExponential(0).replace('e', 'e')}</text>`);
    }
  }
  for (let t = 0; t <= 4; t++) {
    const y = y0 + ((y1 - y0) * t) / 4;
    parts.push(`<line x1="${ox + M.l - 4}" y1="${py(y)}" x2="${ox + M.l}" y2="${py(y)}" stroke="#000"/>`);
    parts.push(`<text x="${ox + M.l - 6}" y="${py(y) + 3}" text-anchor="end" font-size="10">${y.toFixed(3)}</text>`);
  }
  parts.push(`<text x="${ox + W / 2}" y="${H - 8}" text-anchor="middle" font-size="11">weight density</text>`);
  parts.push(`<text transform="translate(${ox + 14},${H / 2}) rotate(-90)" text-anchor="middle" font-size="11">${esc(metric)}</text>`);
  if (ease !== undefined) {
    parts.push(`<line x1="${ox + M.l}" y1="${py(ease)}" x2="${ox + W - M.r}" y2="${py(ease)}" stroke="${colors.ease}" stroke-dasharray="5,4"/>`);
    parts.push(`<text x="${ox + W - M.r - 2}" y="${py(ease) - 4}" text-anchor="end" font-size="10" fill="${colors.ease}">${esc(easeLabel)} ${ease.toFixed(3)}</text>`);
  }
  let legend = 0;
  for (const model of ['cholmod', 'icf']) {
    const pts = sansa.filter((r) => r.model === model).sort((a, b) => a.density - b.density);
    if (!pts.length) continue;
    parts.push(`<polyline fill="none" stroke="${colors[model]}" stroke-width="2" points="${pts.map((r) => `${px(r.density)},${py(r.accuracy[metric])}`).join(' ')}"/>`);
    for (const r of pts) parts.push(`<circle cx="${px(r.density)}" cy="${py(r.accuracy[metric])}" r="3" fill="${colors[model]}"><title>${model} ${r.density}: ${r.accuracy[metric].toFixed(4)}, fit ${r.fitSeconds.toFixed(1)} s, ${r.peakRssMiB.toFixed(0)} MiB</title></circle>`);
    for (const r of pts.filter((p) => refY(p) !== undefined))
      parts.push(`<circle cx="${px(r.density)}" cy="${py(refY(r))}" r="6" fill="none" stroke="${colors[model]}"><title>reference ${model} ${r.density}: ${refY(r).toFixed(4)}, fit ${r.reference.fitSeconds.toFixed(1)} s, ${r.reference.peakRssMiB.toFixed(0)} MiB</title></circle>`);
    parts.push(`<text x="${ox + M.l + 8}" y="${M.t + 12 + legend * 14}" font-size="11" fill="${colors[model]}">SANSA-${model.toUpperCase()} (λ=${pts[0].l2})</text>`);
    legend++;
  }
  if (sansa.some((r) => refY(r) !== undefined)) parts.push(`<text x="${ox + M.l + 8}" y="${M.t + 12 + legend * 14}" font-size="11" fill="#444">rings: reference (glami/sansa)</text>`);
});
const svg = [
  `<svg xmlns="http://www.w3.org/2000/svg" width="${Math.max(1, datasets.length) * W}" height="${H}" font-family="sans-serif" font-size="12">`,
  `<rect width="100%" height="100%" fill="#fff"/>`,
  ...parts,
  '</svg>',
  '',
].join('\n');
fs.writeFileSync(output, svg);
console.error(`wrote ${path.relative(process.cwd(), output)}`);
