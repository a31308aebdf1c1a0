import type { QuotedLine, VersionSequenceProblem } from './types.js';

type Misstep = Omit<VersionSequenceProblem, 'kind' | 'last'>;

/**
 * Running state of the `ver:` sequence over one stretch of the log. It only ever
 * holds a few numbers and two lines, so it stays the same size for any log.
 *
 * The first value is kept apart, unchecked, because whether it is a misstep
 * depends on the stretch before it: that is what lets stretches read side by
 * side be joined into the sequence of the whole log.
 */
export interface VersionSequence {
  statLines: number;
  first: { value: number; line: QuotedLine } | null;
  last: number | null;
  /** The first misstep after the first value. */
  firstBad: Misstep | null;
}

export function emptySequence(): VersionSequence {
  return { statLines: 0, first: null, last: null, firstBad: null };
}

/**
 * Whether the line carrying `value` could be the one a problem quotes, so the
 * caller builds its text only then. Every value must be greater than the one
 * before; the first value of a stretch is always kept, since the stretch before
 * it decides.
 */
export function wouldMisstep(seq: VersionSequence, value: number): boolean {
  return seq.first === null || (seq.firstBad === null && value <= (seq.last ?? 0));
}

/** Adds one statistics value; `line` is only kept when {@link wouldMisstep} said so. */
export function advanceSequence(seq: VersionSequence, value: number, line: QuotedLine): VersionSequence {
  const statLines = seq.statLines + 1;
  if (seq.first === null) return { statLines, first: { value, line }, last: value, firstBad: null };
  const before = seq.last ?? 0;
  const firstBad = seq.firstBad ?? (value <= before ? { before, at: value, statLine: statLines, line } : null);
  return { statLines, first: seq.first, last: value, firstBad };
}

/** The sequence of stretch `a` followed by stretch `b`. */
export function joinSequences(a: VersionSequence, b: VersionSequence): VersionSequence {
  if (b.first === null) return a;
  if (a.first === null || a.last === null) return b;
  const before = a.last;
  const atJoin = b.first.value <= before ? { before, at: b.first.value, statLine: a.statLines + 1, line: b.first.line } : null;
  const inB = b.firstBad && { ...b.firstBad, statLine: b.firstBad.statLine + a.statLines };
  return { statLines: a.statLines + b.statLines, first: a.first, last: b.last, firstBad: a.firstBad ?? atJoin ?? inB };
}

/**
 * The sequence's verdict. The count starts from zero, so a first value of 0
 * already counts as no progress, as in parse-console.sh. A count that stopped and
 * never moved again to the end of the log is a grace-period hang; anything else
 * out of order (going backwards, or stalling for a while and then moving) is a
 * bad sequence. Like the kernel's script, only the first misstep is reported:
 * later ones usually follow from it.
 */
export function sequenceProblem(seq: VersionSequence): VersionSequenceProblem | null {
  if (seq.first === null || seq.last === null) return null;
  const atStart = seq.first.value <= 0 ? { before: 0, at: seq.first.value, statLine: 1, line: seq.first.line } : null;
  const bad = atStart ?? seq.firstBad;
  if (!bad) return null;
  const hang = bad.before === bad.at && bad.at === seq.last;
  return { kind: hang ? 'gp-hang' : 'bad-seq', ...bad, last: seq.last };
}
