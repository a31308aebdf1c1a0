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
import { advanceSequence, emptySequence, sequenceProblem, type VersionSequence } from './version-sequence.js';
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
 * Accumulates findings one interesting line at a time. It keeps counts and a
 * bounded number of lines, never the log: the streaming reader feeds it only the
 * lines the prefilter picked out.
 */
export class FindingsBuilder {
  private readonly findings: ConsoleFindings;
  private sequence: VersionSequence = emptySequence();

  constructor(private readonly options: AnalyzeOptions) {
    this.findings = {
      suite: options.suite.name,
      expectsEndOfTest: suiteExpectsEndOfTest(options.suite),
      bytes: 0,
      linuxVersion: null,
      linuxVersionLine: null,
      commandLine: null,
      tokenFound: null,
      testStarted: false,
      endOfTest: null,
      endOfTestLine: null,
      statLines: 0,
      lastVersion: null,
      gracePeriods: null,
      versionProblem: null,
      counts: {},
      quoted: {},
      lastBang: null,
      tail: [],
    };
  }

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
    if (f.commandLine === null && line.includes('ommand line:')) {
      f.commandLine = parseCommandLine(line);
      if (f.commandLine !== null && this.options.token !== undefined) {
        f.tokenFound = commandLineHasToken(f.commandLine, this.options.token);
      }
    }
    if (line.includes('--- Start of test')) f.testStarted = true;
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
    const seq = this.sequence;
    // The line's text is only made if it turns out to be the first misstep.
    const misstep = seq.firstBad === null && value <= (seq.last ?? 0);
    this.sequence = advanceSequence(seq, value, { offset, text: misstep ? displayLine(quote()) : '' });
  }

  private count(kind: ProblemKind, keep: () => QuotedLine): void {
    const { counts, quoted } = this.findings;
    counts[kind] = (counts[kind] ?? 0) + 1;
    const list = (quoted[kind] ??= []);
    if (list.length < QUOTES_PER_KIND) list.push(keep());
  }

  /** The findings once the whole log has been read. */
  finish(bytes: number, tail: string[]): ConsoleFindings {
    const f = this.findings;
    f.bytes = bytes;
    f.tail = tail.map((t) => displayLine(t));
    f.statLines = this.sequence.statLines;
    f.lastVersion = this.sequence.last;
    f.versionProblem = sequenceProblem(this.sequence);
    if (this.options.suite.reportsGracePeriods) f.gracePeriods = f.lastVersion;
    if (f.tokenFound === null && this.options.token !== undefined) f.tokenFound = false;
    return f;
  }
}
