import { printable } from '../util/printable.js';
import { formatDuration } from '../util/duration.js';
import { VERDICT_KINDS } from './totals.js';
import type { InstanceResult, RunSummary } from './types.js';

/**
 * One line per instance: name, verdict, grace periods and rate, host, warnings.
 * Names, reasons and warnings may come from a run directory or a host, so each is
 * made printable and bounded before it reaches the terminal.
 */
export function formatInstanceLine(x: InstanceResult): string {
  const parts = [printable(x.instance).padEnd(16), printable(x.verdict?.kind ?? 'built').toUpperCase().padEnd(12)];
  if (x.verdict?.gracePeriods !== undefined) {
    const rate = x.verdict.gracePeriodRate === undefined ? '' : ` (${x.verdict.gracePeriodRate.toFixed(1)}/s)`;
    parts.push(`${x.verdict.gracePeriods} GPs${rate}`);
  }
  if (x.host) parts.push(`on ${printable(x.host)}`);
  parts.push(`kernel ${printable(x.kernel.source)}`);
  if (x.verdict?.title !== undefined) parts.push(`- ${printable(x.verdict.title)}`);
  if (x.verdict && x.verdict.reasons.length > 0) parts.push(`(${x.verdict.reasons.map((r) => printable(String(r))).join('; ')})`);
  if (x.kernel.configMismatches.length > 0) parts.push(`[config: ${x.kernel.configMismatches.length} mismatch(es)]`);
  for (const w of x.warnings) parts.push(`[${printable(String(w))}]`);
  return parts.join(' ');
}

/** The end-of-run report: a line per instance, the quoted lines of failures, totals. */
export function formatSummary(summary: RunSummary): string[] {
  const lines = summary.instances.map(formatInstanceLine);
  for (const x of summary.instances) {
    if (!x.verdict || x.verdict.quoted.length === 0 || x.verdict.kind === 'pass') continue;
    lines.push(`--- ${printable(x.instance)} (${printable(x.verdict.kind)}):`);
    // At most 20 quoted lines, as zx quotes a failure's log.
    for (const q of x.verdict.quoted.slice(0, 20)) lines.push(`    ${printable(String(q))}`);
  }
  const counts = VERDICT_KINDS.filter((k) => summary.totals[k] > 0).map((k) => `${summary.totals[k]} ${k}`);
  const elapsed = (Date.parse(summary.endedAt) - Date.parse(summary.startedAt)) / 1000;
  lines.push(
    `${summary.instances.length} instance(s): ${counts.join(', ') || 'none'}` +
      `${summary.interrupted ? ' (interrupted)' : ''}; ${formatDuration(elapsed)} in all; results in ${printable(summary.runDir, 1000)}`,
  );
  return lines;
}
