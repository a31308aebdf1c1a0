import type { ConsoleFindings, ProblemKind, VersionSequenceProblem } from './types.js';

/**
 * Every kind of trouble once, in diags order (the torture test's own word first, then
 * the kernel's, gravest first), with its name in diags and verdict reasons and whether
 * it fails a run. A kind that fails means the kernel or the test reported a broken
 * guarantee: a torture error, a crash, a lockdep or RCU splat, a stall, or a backtrace
 * (a WARN() prints `Call Trace:`, so any real WARN splat fails).
 *
 * The others only warn. The kernel's scripts put them in console.log.diags too, but
 * print a warning rather than a bug for them:
 * - `WARNING:`/`Warn`/`Badness` with no backtrace: firmware and driver notices that say
 *   nothing about the code under test (a real WARN() carries a Call Trace);
 * - CPU-hotplug failures: the offline/online machinery refused, often for reasons
 *   outside the tested primitive (parse-console.sh calls them warnings, too);
 * - nul bytes: an artefact of the log file (an old qemu still writing), not the kernel.
 */
const KINDS: readonly { kind: ProblemKind; label: string; fails: boolean }[] = [
  { kind: 'failure', label: 'FAILURE lines', fails: true },
  { kind: 'bang', label: '"!!!" error lines', fails: true },
  { kind: 'kcsan', label: 'KCSAN reports', fails: true },
  { kind: 'bug', label: 'BUGs', fails: true },
  { kind: 'oops', label: 'Oopses', fails: true },
  { kind: 'panic', label: 'Kernel panics', fails: true },
  { kind: 'lockdep', label: 'lockdep splats', fails: true },
  { kind: 'stall', label: 'RCU CPU stalls', fails: true },
  { kind: 'starve', label: 'kthread starvations', fails: true },
  { kind: 'callTrace', label: 'Call Traces', fails: true },
  { kind: 'hotplug', label: 'CPU-hotplug failures', fails: false },
  { kind: 'warning', label: 'Warnings', fails: false },
  { kind: 'badness', label: 'Badness lines', fails: false },
  { kind: 'nul', label: 'lines with nul bytes (an old qemu still writing the log?)', fails: false },
];

/** How each kind is named in diags and verdict reasons. */
export const KIND_LABELS = Object.fromEntries(KINDS.map((k) => [k.kind, k.label])) as Readonly<Record<ProblemKind, string>>;

/** Diags order. */
export const KIND_ORDER: readonly ProblemKind[] = KINDS.map((k) => k.kind);

/** Kinds that fail a run; the rest only warn. */
export const FAILING_KINDS: ReadonlySet<ProblemKind> = new Set(KINDS.filter((k) => k.fails).map((k) => k.kind));

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
