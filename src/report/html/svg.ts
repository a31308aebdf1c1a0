import { html, type Html } from './html.js';
import type { Timeline } from './model.js';

const WIDTH = 1000;
const LABEL_W = 180;
const ROW_H = 14;
const LANE_GAP = 8;
const AXIS_H = 18;

/**
 * The farm's host × time picture as inline SVG: lanes down, time across, a bar per
 * guest (coloured by verdict through CSS classes), build and lost attempt; each bar
 * links to its instance's section and carries its label as a tooltip.
 */
export function timelineSvg(t: Timeline): Html {
  const plotW = WIDTH - LABEL_W - 10;
  const x = (ms: number) => LABEL_W + (ms / t.spanMs) * plotW;
  const laneTop: number[] = [];
  let y = AXIS_H;
  for (const lane of t.lanes) {
    laneTop.push(y);
    y += lane.rows * ROW_H + LANE_GAP;
  }
  const height = y;
  const ticks = axisTicks(t.spanMs);
  const lanes = t.lanes.map(
    (lane, i) => html`<g class="lane" data-lane="${lane.name}"><rect class="lane-bg" x="0" y="${laneTop[i]! - 2}" width="${WIDTH}" height="${lane.rows * ROW_H + 4}"/><text x="4" y="${laneTop[i]! + 11}"><title>${lane.note}</title>${clip(lane.name, 26)}</text>${lane.rows > 1 ? html`<text class="note" x="4" y="${laneTop[i]! + 11 + ROW_H}">${clip(lane.note, 32)}</text>` : ''}</g>`,
  );
  const bars = t.bars.map((b) => {
    const bx = x(b.startMs);
    const w = Math.max(2, x(b.endMs) - bx);
    const cls = b.kind === 'guest' ? `bar v-${b.verdict ?? 'none'}` : `bar ${b.kind}`;
    return html`<a href="#i-${b.instance}"><rect class="${cls}" data-instance="${b.instance}" x="${bx.toFixed(1)}" y="${laneTop[b.lane]! + b.row * ROW_H}" width="${w.toFixed(1)}" height="${ROW_H - 2}"><title>${b.label}</title></rect></a>`;
  });
  const axis = ticks.map((ms) => html`<line class="tick" x1="${x(ms).toFixed(1)}" x2="${x(ms).toFixed(1)}" y1="${AXIS_H - 4}" y2="${height}"/><text class="tick-label" x="${x(ms).toFixed(1)}" y="12">${clock(ms)}</text>`);
  return html`<svg class="timeline" viewBox="0 0 ${WIDTH} ${height}" width="100%" role="img" aria-label="timeline: one lane per host, time from ${t.origin}">${axis}${lanes}${bars}</svg>`;
}

/** About six round ticks over the span. */
function axisTicks(spanMs: number): number[] {
  const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400].map((s) => s * 1000);
  const step = steps.find((s) => spanMs / s <= 8) ?? 28_800_000;
  const out: number[] = [];
  for (let ms = 0; ms <= spanMs; ms += step) out.push(ms);
  return out;
}

function clock(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60 ? String(s % 60).padStart(2, '0') : ''}`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}`;
}

function clip(text: string, n: number): string {
  return text.length > n ? `${text.slice(0, n - 1)}…` : text;
}

/** A small line plot of the grace-period count over kernel time, with its end values as labels. */
export function gpPlotSvg(series: readonly [number, number][]): Html {
  const w = 240;
  const h = 60;
  if (series.length < 2) return html``;
  const [t0] = series[0]!;
  const t1 = series[series.length - 1]![0];
  const max = Math.max(1, ...series.map((p) => p[1]));
  const px = (t: number) => ((t - t0) / Math.max(1e-9, t1 - t0)) * (w - 4) + 2;
  const py = (v: number) => h - 2 - (v / max) * (h - 14);
  const d = series.map((p, i) => `${i === 0 ? 'M' : 'L'}${px(p[0]).toFixed(0)} ${py(p[1]).toFixed(0)}`).join('');
  const last = series[series.length - 1]![1];
  return html`<svg class="gp" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" role="img" aria-label="grace periods over time"><path d="${d}"/><text x="2" y="10">${last} GPs by ${Math.round(t1)} s</text></svg>`;
}
