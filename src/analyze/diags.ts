import type { ConsoleFindings, ProblemKind, VersionSequenceProblem } from './types.js';

/** How each kind is named in diags and verdict reasons. */
export const KIND_LABELS: Readonly<Record<ProblemKind, string>> = {
  bang: '"!!!" error lines',
  failure: 'FAILURE lines',
  kcsan: 'KCSAN reports',
  bug: 'BUGs',
  oops: 'Oopses',
  panic: 'Kernel panics',
  lockdep: 'lockdep splats',
  stall: 'RCU CPU stalls',
  starve: 'kthread starvations',
  callTrace: 'Call Traces',
  hotplug: 'CPU-hotplug failures',
  warning: 'Warnings',
  badness: 'Badness lines',
  nul: 'lines with nul bytes (an old qemu still writing the log?)',
};

/** Diags order: the torture test's own word first, then the kernel's, gravest first. */
export const KIND_ORDER: readonly ProblemKind[] = [
  'failure',
  'bang',
  'kcsan',
  'bug',
  'oops',
  'panic',
  'lockdep',
  'stall',
  'starve',
  'callTrace',
  'hotplug',
  'warning',
  'badness',
  'nul',
];

export function describeSequenceProblem(p: VersionSequenceProblem): string {
  return p.kind === 'gp-hang'
    ? `GP HANG: ver stuck at ${p.at} from statistics line ${p.statLine} to the end`
    : `BAD SEQ: ver went from ${p.before} to ${p.at} at statistics line ${p.statLine} (last ${p.last})`;
}

/** `FAILURE: 57 instances` or `FAILURE: <the last "!!!" line>`, as parse-console.sh sums them. */
export function describeFailure(f: ConsoleFindings): string | null {
  const failed = f.endOfTest === 'FAILURE' || (f.counts.failure ?? 0) > 0 || (f.counts.bang ?? 0) > 0;
  if (!failed) return null;
  if (!f.lastBang) return 'FAILURE';
  const { instances, line } = f.lastBang;
  return instances !== null ? `FAILURE: ${instances} instances` : `FAILURE: ${stripTimestamp(line.text)}`;
}

/** The missing-end complaint, or null when the end line is there or not expected. */
export function describeMissingEnd(f: ConsoleFindings): string | null {
  if (!f.expectsEndOfTest || f.endOfTest !== null) return null;
  return `no End of test line, ${f.statLines} statistics lines`;
}

/**
 * The text of `console.log.diags`: one line per kind of problem with its count,
 * the empty string for a clean console. kvm-find-errors.sh treats a non-empty
 * diags file as a failed run, so a clean run must leave it empty.
 */
export function formatDiags(f: ConsoleFindings): string {
  const out: string[] = [];
  const failure = describeFailure(f);
  if (failure) out.push(failure);
  if (f.versionProblem) out.push(describeSequenceProblem(f.versionProblem));
  const missing = describeMissingEnd(f);
  if (missing) out.push(missing);
  for (const kind of KIND_ORDER) {
    const n = f.counts[kind] ?? 0;
    if (n > 0) out.push(`${KIND_LABELS[kind]}: ${n}`);
  }
  return out.length > 0 ? `${out.join('\n')}\n` : '';
}

function stripTimestamp(text: string): string {
  return text.replace(/^\[[^\]]*\] /, '');
}
