import { formatDuration } from '../util/duration.js';
import { VERDICT_KINDS } from './totals.js';
import type { InstanceResult, RunSummary } from './types.js';

/** One line per instance: name, verdict, grace periods and rate, host, warnings. */
export function formatInstanceLine(x: InstanceResult): string {
  const parts = [x.instance.padEnd(16), (x.verdict?.kind ?? 'built').toUpperCase().padEnd(12)];
  if (x.verdict?.gracePeriods !== undefined) {
    const rate = x.verdict.gracePeriodRate === undefined ? '' : ` (${x.verdict.gracePeriodRate.toFixed(1)}/s)`;
    parts.push(`${x.verdict.gracePeriods} GPs${rate}`);
  }
  if (x.host) parts.push(`on ${x.host}`);
  parts.push(`kernel ${x.kernel.source}`);
  if (x.verdict?.title !== undefined) parts.push(`- ${x.verdict.title}`);
  if (x.verdict && x.verdict.reasons.length > 0) parts.push(`(${x.verdict.reasons.join('; ')})`);
  if (x.kernel.configMismatches.length > 0) parts.push(`[config: ${x.kernel.configMismatches.length} mismatch(es)]`);
  for (const w of x.warnings) parts.push(`[${w}]`);
  return parts.join(' ');
}

/** The end-of-run report: a line per instance, the quoted lines of failures, totals. */
export function formatSummary(summary: RunSummary): string[] {
  const lines = summary.instances.map(formatInstanceLine);
  for (const x of summary.instances) {
    if (!x.verdict || x.verdict.quoted.length === 0 || x.verdict.kind === 'pass') continue;
    lines.push(`--- ${x.instance} (${x.verdict.kind}):`);
    for (const q of x.verdict.quoted) lines.push(`    ${q}`);
  }
  const counts = VERDICT_KINDS.filter((k) => summary.totals[k] > 0).map((k) => `${summary.totals[k]} ${k}`);
  const elapsed = (Date.parse(summary.endedAt) - Date.parse(summary.startedAt)) / 1000;
  lines.push(
    `${summary.instances.length} instance(s): ${counts.join(', ') || 'none'}` +
      `${summary.interrupted ? ' (interrupted)' : ''}; ${formatDuration(elapsed)} in all; results in ${summary.runDir}`,
  );
  return lines;
}
