/**
 * Grace periods over time, for the report's plot: the first statistics line of
 * each {@link BUCKET_S}-second stretch of kernel time, up to {@link MAX_POINTS}.
 * "First of each bucket, buckets rising" gives the same points whether the log is
 * read in one go or in stretches joined afterwards, which the parallel reader needs.
 */

/** `[seconds since boot, count]` */
export type GpPoint = [number, number];

/** rcutorture prints statistics every 15 s (as kvm.sh asks), so 1 s buckets keep every line, even of a short run. */
export const BUCKET_S = 1;
/** At one line per 15 s, 80 hours of statistics; a log that prints them faster has its plot end early. */
export const MAX_POINTS = 20_000;

/** Seconds from the console's `[  12.345678]` stamp, or NaN when the line has none. */
export function lineSeconds(line: string): number {
  if (line.charCodeAt(0) !== 91) return Number.NaN;
  const end = line.indexOf(']');
  return end > 0 && end < 24 ? Number(line.slice(1, end)) : Number.NaN;
}

/** Adds a statistics line's count at `seconds`, if it opens a new bucket. Mutates `series`. */
export function addGpPoint(series: GpPoint[], seconds: number, count: number): void {
  if (!Number.isFinite(seconds) || series.length >= MAX_POINTS) return;
  const last = series[series.length - 1];
  if (last && Math.floor(seconds / BUCKET_S) <= Math.floor(last[0] / BUCKET_S)) return;
  series.push([seconds, count]);
}

/** The series of stretch `a` followed by stretch `b`. */
export function joinGpSeries(a: readonly GpPoint[], b: readonly GpPoint[]): GpPoint[] {
  const out = [...a];
  for (const p of b) addGpPoint(out, p[0], p[1]);
  return out;
}

/** At most `n` points, evenly spread, the first and last kept: enough for a small plot. */
export function thinGpSeries(series: readonly GpPoint[], n = 100): GpPoint[] {
  if (series.length <= n) return [...series];
  const out: GpPoint[] = [];
  for (let i = 0; i < n; i++) out.push(series[Math.round((i * (series.length - 1)) / (n - 1))]!);
  return out;
}
