import type { GuestRun } from '../qemu/types.js';
import type { TortureSuite } from '../scenarios/suites.js';

export type VerdictKind =
  | 'pass'
  | 'fail'
  | 'warn'
  | 'build-failed'
  | 'no-boot'
  | 'wrong-kernel'
  | 'hung'
  | 'infra-error';

/** The judgement of one scenario instance. */
export interface Verdict {
  instance: string;
  kind: VerdictKind;
  /** Short reasons, one line each (`3 "!!!" lines`, `Call Trace x2`). */
  reasons: string[];
  /** Console lines that made it fail or warn, at most 20. */
  quoted: string[];
  /**
   * A short title of the failure with everything run-specific (addresses, CPUs, pids,
   * times, counters) taken out, so the same failure has the same title in every run;
   * absent for a pass.
   */
  title?: string;
  /** Byte offset in console.log of each quoted line, when the quotes are picked lines (not the log's tail). */
  quotedAt?: number[];
  /** 1-based line number in console.log of each quoted line, when known. */
  quotedLines?: number[];
  /** Grace periods over time, `[seconds since boot, count]`, at most a hundred points: for a plot. */
  gpSeries?: [number, number][];
  /** Grace periods completed, where the suite reports them. */
  gracePeriods?: number;
  /** Grace periods per second over the test duration. */
  gracePeriodRate?: number;
}

/**
 * Kinds of console trouble the analyzer counts. A console line lands in at most
 * one of these (the first that fits, in this order), so no line is quoted twice;
 * only `nul` is counted on top, because nul bytes say something about the file,
 * not about the kernel.
 */
export type ProblemKind =
  /** A torture test's own error line, marked `!!!`. */
  | 'bang'
  /** A line saying FAILURE (`End of test: FAILURE`). */
  | 'failure'
  /** `BUG: KCSAN:` data-race reports. */
  | 'kcsan'
  /** Any other `BUG` line (`BUG: kernel NULL pointer dereference`). */
  | 'bug'
  /** `Oops:`, `general protection fault`. */
  | 'oops'
  /** `Kernel panic - not syncing`. */
  | 'panic'
  /** Lockdep's own headlines, and `suspicious RCU usage`. */
  | 'lockdep'
  /** RCU CPU stall warnings and rcutorture's writer-stall line. */
  | 'stall'
  /** `rcu_... kthread starved for` lines. */
  | 'starve'
  /** `Call Trace:` lines, one per backtrace. */
  | 'callTrace'
  /** CPU-hotplug trouble: failed onoff attempts, `End of test: <X>_HOTPLUG`. */
  | 'hotplug'
  /** `WARNING:` and `Warn...` lines not counted above. */
  | 'warning'
  /** `Badness` lines (old-style WARN on some architectures). */
  | 'badness'
  /** Lines holding nul bytes: usually a previous qemu still writing the file. */
  | 'nul';

/** A console line kept as evidence. */
export interface QuotedLine {
  /** Byte offset of the line's start in the console log, for finding it again. */
  offset: number;
  /** The line, without its newline, cut to a readable length. */
  text: string;
}

/**
 * Where the `ver:` sequence first failed to advance. rcutorture prints the
 * number of grace periods so far on each statistics line; scftorture prints the
 * handler invocations the same way.
 */
export interface VersionSequenceProblem {
  /**
   * `gp-hang`: the number stopped and stayed put to the end of the log.
   * `bad-seq`: it went backwards, or stalled and later moved again.
   */
  kind: 'gp-hang' | 'bad-seq';
  /** Value on the statistics line before the bad one. */
  before: number;
  /** Value on the bad line. */
  at: number;
  /** Value on the last statistics line. */
  last: number;
  /** 1-based number of the bad statistics line among all `ver:` lines. */
  statLine: number;
  line: QuotedLine;
}

/** Options for {@link analyzeConsole}. */
export interface AnalyzeOptions {
  /** The suite that ran; it decides which end-of-test and progress lines matter. */
  suite: TortureSuite;
  /** This guest's token; findings say whether it was on the `Command line:` line. */
  token?: string;
}

/** Everything a console log told us, in bounded space whatever its size. */
export interface ConsoleFindings {
  /** Name of the suite the log was read for. */
  suite: string;
  /** Whether this suite ends with an `End of test:` line, so its absence is a failure. */
  expectsEndOfTest: boolean;
  /** Bytes read. */
  bytes: number;
  /** Version from the first `Linux version X ...` line (X up to the first space), or null. */
  linuxVersion: string | null;
  /** The whole first `Linux version` line, to match against the build's banner. */
  linuxVersionLine: string | null;
  /** Text after the first `Command line:`, or null. */
  commandLine: string | null;
  /** Whether the token was a word of the command line; null when no token was given. */
  tokenFound: boolean | null;
  /** Whether the suite's module printed its `Start of test` line. */
  testStarted: boolean;
  /** Kernel time (seconds) of that line, when the console has time stamps. */
  testStartedAt: number | null;
  /**
   * What followed `End of test:` on the last such line (`SUCCESS`, `FAILURE`,
   * `RCU_HOTPLUG`), or null when there was none.
   */
  endOfTest: string | null;
  endOfTestLine: QuotedLine | null;
  /** Statistics lines carrying a usable `ver:` value. */
  statLines: number;
  /** Value on the last of them: grace periods for rcutorture, handler calls for scftorture. */
  lastVersion: number | null;
  /** Grace periods completed: `lastVersion` for suites that report them, else null. */
  gracePeriods: number | null;
  versionProblem: VersionSequenceProblem | null;
  /** The statistics count over kernel time, at most one point per second (see gp-series.ts). */
  gpSeries: import('./gp-series.js').GpPoint[];
  /** Lines per problem kind (only kinds seen appear). */
  counts: Partial<Record<ProblemKind, number>>;
  /** The first lines of each kind, at most {@link QUOTES_PER_KIND} each. */
  quoted: Partial<Record<ProblemKind, QuotedLine[]>>;
  /**
   * The last `!!!` line and, when it ends in a row of counters (`Reader Pipe:`),
   * their sum: the reference scripts' "N instances".
   */
  lastBang: { line: QuotedLine; instances: number | null } | null;
  /** The last few lines of the log, to show where a hung guest stopped. */
  tail: string[];
}

/** Lines kept per problem kind; the verdict shows at most 20 in all. */
export const QUOTES_PER_KIND = 20;

/** Why the kernel could not be built, for {@link JudgeInput}. */
export interface BuildFailure {
  reason: string;
  /** Error lines from make's output. */
  quoted: string[];
}

/** Everything judging looks at for one instance. */
export interface JudgeInput {
  instance: string;
  /** The console's findings, or null when there is no console log. */
  findings: ConsoleFindings | null;
  /** The guest's record, or null when no guest was started. */
  guest: GuestRun | null;
  buildFailed?: BuildFailure;
  /** The kernel version the build produced (`6.1.158`); the console must show it. */
  expectedVersion: string;
  /**
   * The banner of the kernel built for this instance (release, builder, build number
   * and time). When given, a console banner from any other build is wrong-kernel,
   * even of the same release.
   */
  expectedBanner?: import('../build/kernel-banner.js').KernelBanner;
  /** Test duration asked for, to turn grace periods into a rate. */
  durationSeconds: number;
  /** Token the guest's command line must carry; defaults to the guest's own. */
  expectedToken?: string;
}
