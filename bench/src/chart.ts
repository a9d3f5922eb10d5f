/**
 * A hand-written SVG line chart: axes with ticks and labels, a legend,
 * optional vertical markers (step boundaries, end of warm-up) and horizontal
 * target lines (the p99 target). Gaps (null) break a line.
 */

export interface Line {
  name: string;
  color: string;
  points: Array<[number, number | null]>;
}

export interface ChartSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  lines: Line[];
  markers?: Array<{ x: number; label: string }>;
  /** Horizontal lines at a y value (a latency target); the y axis always reaches them, so they are never off the chart. */
  targets?: Array<{ y: number; label: string }>;
}

const W = 900;
const H = 440;
const M = { left: 72, right: 24, top: 48, bottom: 56 };

export function lineChart(spec: ChartSpec): string {
  const xs = spec.lines.flatMap((l) => l.points.map((p) => p[0]));
  const ys = spec.lines.flatMap((l) => l.points.flatMap((p) => (p[1] === null || !Number.isFinite(p[1]) ? [] : [p[1]])));
  const xTicks = niceTicks(0, Math.max(1, ...xs));
  const yTicks = niceTicks(0, Math.max(1e-3, ...ys, ...(spec.targets ?? []).map((t) => t.y)));
  const xMax = xTicks.at(-1)!;
  const yMax = yTicks.at(-1)!;
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const sx = (x: number) => M.left + (x / xMax) * pw;
  const sy = (y: number) => M.top + ph - (y / yMax) * ph;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  out.push(`<text x="${W / 2}" y="24" text-anchor="middle" font-size="15" font-weight="bold">${esc(spec.title)}</text>`);
  // Grid, ticks and tick labels.
  for (const t of yTicks) {
    const y = f(sy(t));
    out.push(`<line x1="${M.left}" y1="${y}" x2="${W - M.right}" y2="${y}" stroke="#e5e5e5"/>`);
    out.push(`<line x1="${M.left - 5}" y1="${y}" x2="${M.left}" y2="${y}" stroke="#333"/>`);
    out.push(`<text x="${M.left - 8}" y="${y}" text-anchor="end" dominant-baseline="middle">${label(t)}</text>`);
  }
  for (const t of xTicks) {
    const x = f(sx(t));
    out.push(`<line x1="${x}" y1="${M.top + ph}" x2="${x}" y2="${M.top + ph + 5}" stroke="#333"/>`);
    out.push(`<text x="${x}" y="${M.top + ph + 18}" text-anchor="middle">${label(t)}</text>`);
  }
  // Axes and their labels.
  out.push(`<line x1="${M.left}" y1="${M.top}" x2="${M.left}" y2="${M.top + ph}" stroke="#333"/>`);
  out.push(`<line x1="${M.left}" y1="${M.top + ph}" x2="${W - M.right}" y2="${M.top + ph}" stroke="#333"/>`);
  out.push(`<text x="${M.left + pw / 2}" y="${H - 14}" text-anchor="middle">${esc(spec.xLabel)}</text>`);
  out.push(`<text transform="translate(18 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle">${esc(spec.yLabel)}</text>`);
  for (const m of spec.markers ?? []) {
    const x = f(sx(m.x));
    out.push(`<line x1="${x}" y1="${M.top}" x2="${x}" y2="${M.top + ph}" stroke="#999" stroke-dasharray="4 4"/>`);
    out.push(`<text x="${f(sx(m.x) + 3)}" y="${M.top + 12}" fill="#666" font-size="10">${esc(m.label)}</text>`);
  }
  for (const t of spec.targets ?? []) {
    const y = f(sy(t.y));
    out.push(`<line x1="${M.left}" y1="${y}" x2="${W - M.right}" y2="${y}" stroke="#2ca02c" stroke-width="1.5" stroke-dasharray="8 4"/>`);
    out.push(`<text x="${M.left + 6}" y="${f(sy(t.y) - 5)}" fill="#2ca02c" font-size="11">${esc(t.label)}</text>`);
  }
  // The lines: one path per run of consecutive points; a lone point becomes a dot.
  for (const line of spec.lines) {
    for (const run of runs(line.points)) {
      if (run.length === 1) out.push(`<circle cx="${f(sx(run[0]![0]))}" cy="${f(sy(run[0]![1]))}" r="2" fill="${line.color}"/>`);
      else
        out.push(
          `<polyline fill="none" stroke="${line.color}" stroke-width="1.8" points="${run.map(([x, y]) => `${f(sx(x))},${f(sy(y))}`).join(' ')}"/>`,
        );
    }
  }
  // Legend, top right inside the plot.
  spec.lines.forEach((line, i) => {
    const y = M.top + 10 + i * 18;
    const x = W - M.right - 110;
    out.push(`<line x1="${x}" y1="${y}" x2="${x + 22}" y2="${y}" stroke="${line.color}" stroke-width="3"/>`);
    out.push(`<text x="${x + 28}" y="${y}" dominant-baseline="middle">${esc(line.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/** "Nice" ticks from min to at least max: steps of 1, 2 or 5 times a power of ten, about six of them. */
export function niceTicks(min: number, max: number, target = 6): number[] {
  const raw = (max - min) / target;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= raw) ?? 10 * pow;
  const ticks: number[] = [];
  for (let v = Math.floor(min / step) * step; ; v += step) {
    ticks.push(Number(v.toPrecision(12)));
    if (v >= max - step * 1e-9) break;
  }
  return ticks;
}

function runs(points: Array<[number, number | null]>): Array<Array<[number, number]>> {
  const out: Array<Array<[number, number]>> = [];
  let current: Array<[number, number]> = [];
  for (const [x, y] of points) {
    if (y === null || !Number.isFinite(y)) {
      if (current.length) out.push(current);
      current = [];
    } else current.push([x, y]);
  }
  if (current.length) out.push(current);
  return out;
}

function f(n: number): string {
  return n.toFixed(1);
}

function label(n: number): string {
  return Math.abs(n) >= 1000 ? n.toLocaleString('en-US') : String(n);
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
