import { KIND_LABELS } from '../analyze/diags.js';
import type { ProblemKind } from '../analyze/types.js';
import type { BuildProgress, GuestProgress, RunSnapshot } from './run-monitor.js';

/** `1m05s`, `42s` */
export function clock(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

/** `TREE02C-SMALL make 42s: CC kernel/rcu/update.o` */
export function formatBuild(b: BuildProgress): string {
  const status = b.status ? ` ${b.status}` : '';
  return `${b.label} ${b.phase}${status} ${clock(b.elapsedMs)}${b.detail ? `: ${b.detail}` : ''}`;
}

function troubleText(trouble: Partial<Record<ProblemKind, number>>): string {
  return Object.entries(trouble)
    .map(([k, n]) => `${KIND_LABELS[k as ProblemKind]} x${n}`)
    .join(', ');
}

/** `BUSTED01-SMALL 42s/30s 812 GPs | "!!!" error lines x2: rcu-torture: !!! Reader Pipe: ...` */
export function formatGuest(g: GuestProgress, now: number): string {
  const gps = g.gracePeriods === null ? 'no GPs yet' : `${g.gracePeriods} GPs`;
  if (g.verdict) {
    return `${g.instance} ${g.verdict.kind} after ${clock((g.endedMs ?? now) - g.startedMs)}, ${gps}${g.verdict.title ? ` | ${g.verdict.title}` : ''}`;
  }
  const trouble = troubleText(g.trouble);
  const first = g.firstTrouble ? `: ${g.firstTrouble}` : '';
  return `${g.instance} ${clock(now - g.startedMs)}/${clock(g.durationSeconds * 1000)} ${gps}${trouble ? ` | ${trouble}${first}` : ''}`;
}

/**
 * The live view: builds still going (finished ones were printed as lines above it),
 * then every guest, each cut to the terminal's width.
 */
export function formatRunProgress(s: RunSnapshot, now: number, width = 100): string[] {
  const cut = (line: string) => (line.length > width ? `${line.slice(0, width - 1)}…` : line);
  const lines: string[] = [];
  const building = s.builds.filter((b) => b.phase !== 'done');
  for (const b of building) lines.push(cut(`build ${formatBuild(b)}`));
  const running = s.guests.filter((g) => !g.verdict);
  const ended = s.guests.filter((g) => g.verdict);
  if (s.guests.length > 0) lines.push(cut(`guests: ${running.length} running, ${ended.length} judged`));
  for (const g of running) lines.push(cut(`  ${formatGuest(g, now)}`));
  return lines;
}
