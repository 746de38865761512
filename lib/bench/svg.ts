/** Plain SVG charts (no scripts, no fonts to fetch): bars with error bars, and lines on a linear or log x axis. */

export const esc = (s: unknown): string => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
export const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22'];

const n = (x: number) => Number(x.toFixed(2));

interface Frame {
  width: number;
  height: number;
  margin: { l: number; r: number; t: number; b: number };
}

function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  // The axis ends on a tick at or above the data.
  if (!ticks.length || ticks[ticks.length - 1] < hi) ticks.push(Number(((ticks.length ? ticks[ticks.length - 1] : lo) + step).toPrecision(12)));
  return ticks;
}

const label = (x: number) => (Math.abs(x) >= 1000 || (Math.abs(x) < 0.001 && x !== 0) ? x.toExponential(1) : String(Number(x.toPrecision(4))));

function axes(f: Frame, parts: string[], title: string, yTicks: number[], py: (y: number) => number, yLabel?: string): void {
  const { width: W, height: H, margin: M } = f;
  parts.push(`<text x="${W / 2}" y="18" text-anchor="middle" font-weight="bold">${esc(title)}</text>`);
  parts.push(`<line x1="${M.l}" y1="${H - M.b}" x2="${W - M.r}" y2="${H - M.b}" stroke="#000"/>`);
  parts.push(`<line x1="${M.l}" y1="${M.t}" x2="${M.l}" y2="${H - M.b}" stroke="#000"/>`);
  for (const t of yTicks) {
    parts.push(`<line x1="${M.l - 4}" y1="${n(py(t))}" x2="${W - M.r}" y2="${n(py(t))}" stroke="#000" stroke-opacity="0.12"/>`);
    parts.push(`<text x="${M.l - 6}" y="${n(py(t) + 3)}" text-anchor="end" font-size="10">${label(t)}</text>`);
  }
  if (yLabel) parts.push(`<text transform="translate(14,${H / 2}) rotate(-90)" text-anchor="middle" font-size="11">${esc(yLabel)}</text>`);
}

const wrap = (f: Frame, parts: string[]) =>
  [`<svg xmlns="http://www.w3.org/2000/svg" width="${f.width}" height="${f.height}" viewBox="0 0 ${f.width} ${f.height}" font-family="sans-serif" font-size="12">`, `<rect width="100%" height="100%" fill="#fff"/>`, ...parts, '</svg>'].join('\n');

export interface BarChartOptions {
  title: string;
  labels: string[];
  values: number[];
  /** Half-widths of error bars (standard errors), drawn where given. */
  errors?: (number | undefined)[];
  yLabel?: string;
  width?: number;
  height?: number;
}

/** One bar per label from zero, with error bars. */
export function barChart(o: BarChartOptions): string {
  // Labels are written at 30°: room below the axis for the longest (about 5.5 px a character).
  const below = Math.min(150, 24 + 0.5 * 5.5 * Math.max(0, ...o.labels.map((l) => l.length)));
  const f: Frame = { width: o.width ?? Math.max(320, 90 + o.labels.length * 70), height: (o.height ?? 230) + below, margin: { l: 60, r: 14, t: 32, b: below } };
  const { width: W, height: H, margin: M } = f;
  const top = Math.max(...o.values.map((v, i) => v + (o.errors?.[i] ?? 0)), 0);
  const yTicks = niceTicks(0, top > 0 ? top * 1.05 : 1);
  const y1 = yTicks[yTicks.length - 1];
  const py = (y: number) => M.t + (1 - y / y1) * (H - M.t - M.b);
  const parts: string[] = [];
  axes(f, parts, o.title, yTicks, py, o.yLabel);
  const slot = (W - M.l - M.r) / Math.max(1, o.labels.length);
  o.labels.forEach((name, i) => {
    const x = M.l + slot * i + slot * 0.2;
    const w = slot * 0.6;
    const v = o.values[i];
    parts.push(`<rect x="${n(x)}" y="${n(py(v))}" width="${n(w)}" height="${n(Math.max(0, py(0) - py(v)))}" fill="${PALETTE[i % PALETTE.length]}"><title>${esc(name)}: ${label(v)}</title></rect>`);
    const e = o.errors?.[i];
    if (e) {
      const cx = n(x + w / 2);
      parts.push(`<path d="M${cx} ${n(py(v + e))}V${n(py(Math.max(0, v - e)))}M${n(cx - 5)} ${n(py(v + e))}h10M${n(cx - 5)} ${n(py(Math.max(0, v - e)))}h10" stroke="#000" fill="none"/>`);
    }
    parts.push(`<text transform="translate(${n(x + w / 2)},${H - M.b + 12}) rotate(30)" font-size="10">${esc(name)}</text>`);
  });
  return wrap(f, parts);
}

export interface Series {
  name: string;
  points: { x: number; y: number; tip?: string }[];
  color?: string;
  /** Hollow rings, no line (e.g. a reference implementation's figures). */
  rings?: boolean;
}

export interface LineChartOptions {
  title: string;
  series: Series[];
  /** Horizontal lines, dashed (e.g. EASE's accuracy). */
  levels?: { y: number; name: string; color?: string }[];
  xLabel: string;
  yLabel: string;
  logX?: boolean;
  width?: number;
  height?: number;
}

/** Lines through each series' points (sorted by x), with a legend. */
export function lineChart(o: LineChartOptions): string {
  const f: Frame = { width: o.width ?? 360, height: o.height ?? 280, margin: { l: 56, r: 14, t: 34, b: 46 } };
  const { width: W, height: H, margin: M } = f;
  const tx = (x: number) => (o.logX ? Math.log10(x) : x);
  const xs = o.series.flatMap((s) => s.points.map((p) => tx(p.x)));
  const ys = [...o.series.flatMap((s) => s.points.map((p) => p.y)), ...(o.levels ?? []).map((l) => l.y)];
  const pad = o.logX ? 0.15 : 0.05 * (Math.max(...xs) - Math.min(...xs) || 1);
  const x0 = Math.min(...xs) - pad, x1 = Math.max(...xs) + pad;
  const spread = Math.max(...ys) - Math.min(...ys) || Math.abs(ys[0]) * 0.1 || 1;
  const yTicks = niceTicks(Math.min(...ys) - spread * 0.1, Math.max(...ys) + spread * 0.1);
  const y0 = Math.min(yTicks[0], Math.min(...ys)), y1 = Math.max(yTicks[yTicks.length - 1], Math.max(...ys));
  const px = (x: number) => M.l + ((tx(x) - x0) / (x1 - x0 || 1)) * (W - M.l - M.r);
  const py = (y: number) => M.t + (1 - (y - y0) / (y1 - y0 || 1)) * (H - M.t - M.b);
  const parts: string[] = [];
  axes(f, parts, o.title, yTicks.filter((t) => t >= y0 && t <= y1), py, o.yLabel);
  const xTicks = o.logX
    ? Array.from({ length: Math.floor(x1) - Math.ceil(x0) + 1 }, (_, i) => Math.ceil(x0) + i).flatMap((e) => [1, 2, 5].map((m) => m * 10 ** e)).filter((d) => Math.log10(d) >= x0 && Math.log10(d) <= x1)
    : niceTicks(x0, x1);
  for (const d of xTicks) {
    parts.push(`<line x1="${n(px(d))}" y1="${H - M.b}" x2="${n(px(d))}" y2="${H - M.b + 4}" stroke="#000"/>`);
    parts.push(`<text x="${n(px(d))}" y="${H - M.b + 16}" text-anchor="middle" font-size="10">${o.logX ? d.toExponential(0) : label(d)}</text>`);
  }
  parts.push(`<text x="${W / 2}" y="${H - 8}" text-anchor="middle" font-size="11">${esc(o.xLabel)}</text>`);
  for (const l of o.levels ?? []) {
    const c = l.color ?? '#444';
    parts.push(`<line x1="${M.l}" y1="${n(py(l.y))}" x2="${W - M.r}" y2="${n(py(l.y))}" stroke="${c}" stroke-dasharray="5,4"/>`);
    parts.push(`<text x="${W - M.r - 2}" y="${n(py(l.y) - 4)}" text-anchor="end" font-size="10" fill="${c}">${esc(l.name)} ${l.y.toFixed(3)}</text>`);
  }
  let legend = 0;
  o.series.forEach((s, i) => {
    const c = s.color ?? PALETTE[i % PALETTE.length];
    const pts = [...s.points].sort((a, b) => a.x - b.x);
    if (!pts.length) return;
    if (s.rings) for (const p of pts) parts.push(`<circle cx="${n(px(p.x))}" cy="${n(py(p.y))}" r="6" fill="none" stroke="${c}"><title>${esc(p.tip ?? `${s.name}: ${label(p.y)}`)}</title></circle>`);
    else {
      parts.push(`<polyline fill="none" stroke="${c}" stroke-width="2" points="${pts.map((p) => `${n(px(p.x))},${n(py(p.y))}`).join(' ')}"/>`);
      for (const p of pts) parts.push(`<circle cx="${n(px(p.x))}" cy="${n(py(p.y))}" r="3" fill="${c}"><title>${esc(p.tip ?? `${s.name}: ${label(p.y)}`)}</title></circle>`);
    }
    parts.push(`<text x="${M.l + 8}" y="${M.t + 12 + legend++ * 14}" font-size="11" fill="${c}">${esc(s.name)}</text>`);
  });
  return wrap(f, parts);
}
