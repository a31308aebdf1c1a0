import {
  bangInstances,
  classifyLine,
  commandLineHasToken,
  displayLine,
  parseCommandLine,
  parseEndOfTest,
  parseLinuxVersion,
  parseStatVersion,
  STAT_WORD,
} from './line-kinds.js';
import type { AnalyzeOptions, ConsoleFindings, ProblemKind, QuotedLine } from './types.js';
import { QUOTES_PER_KIND } from './types.js';
import { addGpPoint, joinGpSeries, lineSeconds, type GpPoint } from './gp-series.js';
import { advanceSequence, emptySequence, joinSequences, sequenceProblem, wouldMisstep, type VersionSequence } from './version-sequence.js';
import type { TortureSuite } from '../scenarios/suites.js';

/** Modules whose cleanup prints `End of test: SUCCESS|FAILURE|<X>_HOTPLUG`. */
const END_OF_TEST_MODULES = new Set(['rcutorture', 'locktorture', 'scftorture']);

/**
 * Whether a run of this suite must end with an `End of test:` line. The scale
 * tests print results instead (parse-console.sh skips the check for them too).
 */
export function suiteExpectsEndOfTest(suite: TortureSuite): boolean {
  return END_OF_TEST_MODULES.has(suite.module) || suite.reportsGracePeriods;
}

/**
 * What the lines of one stretch of a log showed. Stretches read apart (side by
 * side, in worker threads) are joined with {@link joinLineFindings} into what
 * reading the whole log at once would have shown.
 */
export interface LineFindings {
  linuxVersion: string | null;
  linuxVersionLine: string | null;
  commandLine: string | null;
  testStarted: boolean;
  /** Kernel time of the `Start of test` line, where the grace-period count is zero. */
  testStartedAt: number | null;
  endOfTest: string | null;
  endOfTestLine: QuotedLine | null;
  sequence: VersionSequence;
  gpSeries: GpPoint[];
  counts: Partial<Record<ProblemKind, number>>;
  quoted: Partial<Record<ProblemKind, QuotedLine[]>>;
  lastBang: ConsoleFindings['lastBang'];
}

export function emptyLineFindings(): LineFindings {
  return {
    linuxVersion: null,
    linuxVersionLine: null,
    commandLine: null,
    testStarted: false,
    testStartedAt: null,
    endOfTest: null,
    endOfTestLine: null,
    sequence: emptySequence(),
    gpSeries: [],
    counts: {},
    quoted: {},
    lastBang: null,
  };
}

/**
 * Accumulates findings one interesting line at a time. It keeps counts and a
 * bounded number of lines, never the log: the streaming reader feeds it only the
 * lines the prefilter picked out.
 */
export class FindingsBuilder {
  readonly findings: LineFindings = emptyLineFindings();

  /**
   * One line that matched the prefilter. `quote` turns it into display text only
   * when it is kept, because most such lines (statistics) never are.
   */
  addLine(line: string, offset: number, quote: () => string): void {
    const f = this.findings;
    let quoted: QuotedLine | undefined;
    const keep = (): QuotedLine => (quoted ??= { offset, text: displayLine(quote()) });

    if (f.linuxVersion === null && line.includes('Linux version ')) {
      f.linuxVersion = parseLinuxVersion(line);
      f.linuxVersionLine = line.length > 1000 ? line.slice(0, 1000) : line;
    }
    if (f.commandLine === null && line.includes('ommand line:')) f.commandLine = parseCommandLine(line);
    if (line.includes('--- Start of test')) {
      f.testStarted = true;
      if (f.testStartedAt === null && Number.isFinite(lineSeconds(line))) f.testStartedAt = lineSeconds(line);
    }
    if (line.includes('End of test:')) {
      f.endOfTest = parseEndOfTest(line);
      f.endOfTestLine = keep();
    }
    if (line.includes(STAT_WORD)) this.addStatLine(line, offset, quote);
    if (line.includes('\x00')) this.count('nul', keep);

    const kind = classifyLine(line);
    if (kind === null) return;
    this.count(kind, keep);
    if (kind === 'bang') {
      f.lastBang = { line: keep(), instances: bangInstances(line.replace(/\r$/, '')) };
    }
  }

  /**
   * A line whose only prefilter word is `ver: `: a statistics line, which can
   * carry a grace-period count but no trouble.
   */
  addStatLine(line: string, offset: number, quote: () => string): void {
    const value = parseStatVersion(line);
    if (value === null) return;
    const seq = this.findings.sequence;
    const text = wouldMisstep(seq, value) ? displayLine(quote()) : '';
    this.findings.sequence = advanceSequence(seq, value, { offset, text });
    addGpPoint(this.findings.gpSeries, lineSeconds(line), value);
  }

  private count(kind: ProblemKind, keep: () => QuotedLine): void {
    const { counts, quoted } = this.findings;
    counts[kind] = (counts[kind] ?? 0) + 1;
    const list = (quoted[kind] ??= []);
    if (list.length < QUOTES_PER_KIND) list.push(keep());
  }
}

/** The findings of stretch `a` followed by stretch `b`, as if read in one go. */
export function joinLineFindings(a: LineFindings, b: LineFindings): LineFindings {
  // The first line with a version wins; failing that, the last line that tried.
  const version = a.linuxVersion !== null ? a : b.linuxVersion !== null || b.linuxVersionLine !== null ? b : a;
  const end = b.endOfTestLine !== null ? b : a;
  const counts = { ...a.counts };
  const quoted: LineFindings['quoted'] = {};
  for (const [kind, n] of Object.entries(b.counts) as [ProblemKind, number][]) counts[kind] = (counts[kind] ?? 0) + n;
  for (const kind of new Set([...Object.keys(a.quoted), ...Object.keys(b.quoted)]) as Set<ProblemKind>) {
    quoted[kind] = [...(a.quoted[kind] ?? []), ...(b.quoted[kind] ?? [])].slice(0, QUOTES_PER_KIND);
  }
  return {
    linuxVersion: version.linuxVersion,
    linuxVersionLine: version.linuxVersionLine,
    commandLine: a.commandLine ?? b.commandLine,
    testStarted: a.testStarted || b.testStarted,
    testStartedAt: a.testStartedAt ?? b.testStartedAt,
    endOfTest: end.endOfTest,
    endOfTestLine: end.endOfTestLine,
    sequence: joinSequences(a.sequence, b.sequence),
    gpSeries: joinGpSeries(a.gpSeries, b.gpSeries),
    counts,
    quoted,
    lastBang: b.lastBang ?? a.lastBang,
  };
}

/** The findings once the whole log has been read. */
export function finishFindings(lines: LineFindings, bytes: number, tail: string[], options: AnalyzeOptions): ConsoleFindings {
  const { sequence } = lines;
  const token = options.token;
  return {
    suite: options.suite.name,
    expectsEndOfTest: suiteExpectsEndOfTest(options.suite),
    bytes,
    linuxVersion: lines.linuxVersion,
    linuxVersionLine: lines.linuxVersionLine,
    commandLine: lines.commandLine,
    tokenFound: token === undefined ? null : lines.commandLine !== null && commandLineHasToken(lines.commandLine, token),
    testStarted: lines.testStarted,
    testStartedAt: lines.testStartedAt,
    endOfTest: lines.endOfTest,
    endOfTestLine: lines.endOfTestLine,
    statLines: sequence.statLines,
    lastVersion: sequence.last,
    gracePeriods: options.suite.reportsGracePeriods ? sequence.last : null,
    versionProblem: sequenceProblem(sequence),
    gpSeries: lines.gpSeries,
    counts: lines.counts,
    quoted: lines.quoted,
    lastBang: lines.lastBang,
    tail: tail.map((t) => displayLine(t)),
  };
}
