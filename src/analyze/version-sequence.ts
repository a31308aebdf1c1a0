import type { QuotedLine, VersionSequenceProblem } from './types.js';

/**
 * Running state of the `ver:` sequence. It only ever holds a few numbers and the
 * first offending line, so it stays the same size for any log.
 */
export interface VersionSequence {
  statLines: number;
  last: number | null;
  firstBad: Omit<VersionSequenceProblem, 'kind' | 'last'> | null;
}

export function emptySequence(): VersionSequence {
  return { statLines: 0, last: null, firstBad: null };
}

/**
 * Adds one statistics value. Every value must be greater than the one before;
 * the count starts from zero, so a first value of 0 already counts as no progress,
 * as in parse-console.sh.
 */
export function advanceSequence(seq: VersionSequence, value: number, line: QuotedLine): VersionSequence {
  const before = seq.last ?? 0;
  const statLines = seq.statLines + 1;
  const firstBad =
    seq.firstBad ?? (value <= before ? { before, at: value, statLine: statLines, line } : null);
  return { statLines, last: value, firstBad };
}

/**
 * The sequence's verdict. A count that stopped and never moved again to the end
 * of the log is a grace-period hang; anything else out of order (going backwards,
 * or stalling for a while and then moving) is a bad sequence. Like the kernel's
 * script, only the first misstep is reported: later ones usually follow from it.
 */
export function sequenceProblem(seq: VersionSequence): VersionSequenceProblem | null {
  const bad = seq.firstBad;
  if (!bad || seq.last === null) return null;
  const hang = bad.before === bad.at && bad.at === seq.last;
  return { kind: hang ? 'gp-hang' : 'bad-seq', ...bad, last: seq.last };
}
