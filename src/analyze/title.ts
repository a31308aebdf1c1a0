import { describeMissingEnd } from './diags.js';
import type { ConsoleFindings, JudgeInput, ProblemKind, QuotedLine, Verdict } from './types.js';

/**
 * Failure titles: one short line per failing verdict that names the failure and
 * nothing that changes between two runs of it, so the same failure gets the same
 * title everywhere and titles can be counted across instances and runs (as
 * syzkaller groups its crashes). The rules follow the kernel's headlines: the first
 * crash or splat in the console names a failure, because what follows it (a panic
 * after an Oops, a GP hang after a stall) is usually its consequence; the torture
 * test's own `!!!` word comes next, because it is what the test exists to say; a
 * bare WARN backtrace and the missing end line come last.
 */

/** Kernel crashes and splats: the earliest of these in the console names the failure. */
const CRASH_KINDS: readonly ProblemKind[] = ['kcsan', 'bug', 'oops', 'panic', 'lockdep', 'stall', 'starve'];

/** Titles longer than this are cut: a title is a name, not a report. */
const MAX_TITLE = 120;

/** The verdict's title, or undefined for a pass. */
export function failureTitle(input: JudgeInput, verdict: Verdict): string | undefined {
  switch (verdict.kind) {
    case 'pass':
      return undefined;
    case 'build-failed':
      return `build failed: ${normaliseTitle(input.buildFailed?.quoted.find((l) => /error/i.test(l)) ?? verdict.reasons[0] ?? 'unknown')}`;
    case 'infra-error':
      return `infra: ${normaliseTitle(verdict.reasons[0] ?? 'unknown')}`;
    case 'no-boot':
      return `no boot: ${normaliseTitle(verdict.reasons[0] ?? 'unknown')}`;
    case 'wrong-kernel':
      return wrongKernelTitle(verdict.reasons.join(' '));
    default:
      return consoleTitle(input.findings, verdict, input.guest?.stopped ?? false);
  }
}

function wrongKernelTitle(reasons: string): string {
  if (reasons.includes('token')) return 'wrong kernel: token missing from the kernel command line';
  if (reasons.includes('another build')) return 'wrong kernel: another build of the same release booted';
  return 'wrong kernel: another kernel version booted';
}

/** A fail, warn or hung verdict: named from the console. */
function consoleTitle(f: ConsoleFindings | null, verdict: Verdict, stopped: boolean): string {
  if (!f) return `${verdict.kind}: no console`;
  const crash = earliest(f, CRASH_KINDS);
  if (crash) return crashTitle(crash.kind, crash.line.text);
  const bangs = (f.quoted.bang ?? []).map((l) => bangTitle(l.text));
  // A WARN fired in the middle of a `!!!` line leaves its first part bare (`rcu-torture: !!!`):
  // the first line that says what went wrong names the failure.
  if (bangs.length > 0) return bangs.find((t) => !t.endsWith('!!!')) ?? bangs[0]!;
  const failure = f.quoted.failure?.[0];
  if (failure) return failureLineTitle(failure.text);
  if (f.versionProblem) {
    return f.versionProblem.kind === 'gp-hang' ? 'GP hang: the grace-period count stopped advancing' : 'bad grace-period sequence: the count went backwards or restarted';
  }
  const trace = f.quoted.callTrace?.[0];
  if (trace) return warnTitle(lastBefore(f.quoted.warning ?? [], trace.offset)?.text) ?? 'Call Trace without a headline';
  if (verdict.kind === 'hung') {
    return f.testStarted ? 'hung: no console output after the test duration' : 'hung: no console output before the test started';
  }
  if (!stopped && describeMissingEnd(f)) return f.testStarted ? 'no end-of-test line' : 'no end-of-test line: the test never started';
  if (f.counts.hotplug) return 'CPU-hotplug failure';
  const warning = f.quoted.warning?.[0] ?? f.quoted.badness?.[0];
  if (warning) return warnTitle(warning.text) ?? normaliseTitle(stripPrefix(warning.text));
  if (f.counts.nul) return 'nul bytes in the console log';
  if (stopped) return `${verdict.kind}: stopped early`;
  return `${verdict.kind}: ${normaliseTitle(verdict.reasons[0] ?? 'unknown')}`;
}

function earliest(f: ConsoleFindings, kinds: readonly ProblemKind[]): { kind: ProblemKind; line: QuotedLine } | null {
  let best: { kind: ProblemKind; line: QuotedLine } | null = null;
  for (const kind of kinds) {
    const line = f.quoted[kind]?.[0];
    if (line && (!best || line.offset < best.line.offset)) best = { kind, line };
  }
  return best;
}

function lastBefore(lines: QuotedLine[], offset: number): QuotedLine | undefined {
  return lines.filter((l) => l.offset < offset).at(-1);
}

/** The headline of a crash or splat line, cut where the per-run details start. */
export function crashTitle(kind: ProblemKind, raw: string): string {
  const text = stripPrefix(raw);
  switch (kind) {
    case 'kcsan':
    case 'bug': {
      const at = text.indexOf('BUG:');
      const head = text.slice(at < 0 ? 0 : at);
      // A KCSAN title names the two functions that raced: that is the failure.
      if (head.startsWith('BUG: KCSAN:')) return normaliseTitle(head.slice('BUG: '.length));
      return normaliseTitle(cutAt(head, 'BUG:'.length, [': ', ', ', ' - ', ' at ', ' for address', ' on address', '!']));
    }
    case 'oops':
      if (text.includes('general protection fault')) return 'general protection fault';
      return 'Oops';
    case 'panic': {
      // The panic's own sentence; advice after it ("Try passing init= ...") adds nothing.
      const head = text.slice(text.indexOf('Kernel panic')).replace(/\s*\]---\s*$/, '');
      return normaliseTitle(cutAt(head, 'Kernel panic - not syncing: '.length, ['. ']));
    }
    case 'lockdep': {
      const at = text.indexOf('WARNING:');
      return normaliseTitle(text.slice(at < 0 ? 0 : at));
    }
    case 'stall': {
      const writer = text.indexOf('??? Writer stall');
      if (writer >= 0) return normaliseTitle(`${tortureName(text)}??? Writer stall`);
      // Which CPU reports a stall is a race: the stalled one (`self-detected stall on CPU`) or
      // another (`detected stalls on CPUs/tasks`), so one failure gets one title, as syzkaller does.
      const normal = /^(.*INFO: \S+) (?:self-)?detected stalls? on CPU/.exec(text);
      if (normal) return normaliseTitle(`${normal[1]} detected stall on CPU`);
      const cpus = text.indexOf('CPUs/tasks');
      return normaliseTitle(cpus >= 0 ? text.slice(0, cpus + 'CPUs/tasks'.length) : text);
    }
    case 'starve':
      return normaliseTitle(cutAt(text, 0, ['!']));
    default:
      return normaliseTitle(text);
  }
}

/** `rcu-torture: !!! Reader Pipe`: the test's error word and what it is about, without the counters. */
export function bangTitle(raw: string): string {
  const text = stripPrefix(raw);
  const at = text.indexOf('!!!');
  return normaliseTitle(cutAt(text, at + 3, [':']));
}

function failureLineTitle(raw: string): string {
  const text = stripPrefix(raw);
  const end = text.indexOf('End of test: FAILURE');
  if (end >= 0) return normaliseTitle(`${tortureName(text)}End of test: FAILURE`);
  return normaliseTitle(cutAt(text, 0, [': ']));
}

/** `WARNING in rcu_torture_stats_print` from `WARNING: CPU: 0 PID: 70 at kernel/rcu/rcutorture.c:1700 rcu_torture_stats_print+0x5a/0x6b0`. */
export function warnTitle(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const m = / at (\S+?):\d+ ([A-Za-z_][\w.]*)/.exec(raw);
  if (m) return `WARNING in ${m[2]}`;
  const file = / at (\S+?)(?::\d+)?(?:\s|$)/.exec(raw);
  if (raw.includes('WARNING:') && file) return `WARNING at ${file[1]}`;
  return undefined;
}

/** `rcu-torture: ` from a torture module's line, else empty. */
function tortureName(text: string): string {
  const m = /^(\S+-torture:)/.exec(text);
  return m ? `${m[1]} ` : '';
}

/** The text from `from` up to the first of `stops` after it. */
function cutAt(text: string, from: number, stops: readonly string[]): string {
  let end = text.length;
  for (const stop of stops) {
    const at = text.indexOf(stop, Math.max(0, from));
    if (at >= 0 && at < end) end = at;
  }
  return text.slice(0, end);
}

/** The console's `[   12.345678]` time stamp and `[    T1]`/`[  C0]` caller id. */
function stripPrefix(text: string): string {
  return text.replace(/^\s*(?:\[\s*\d+\.\d+\]\s*)?(?:\[\s*[TC]\d+\]\s*)?/, '');
}

/**
 * Takes out what differs between two runs of one failure: addresses, function
 * offsets, source line numbers, CPU numbers, pids, times and counters.
 */
export function normaliseTitle(text: string): string {
  const out = stripPrefix(text)
    // `func+0x1a/0x40`: offsets move with every build.
    .replace(/([A-Za-z_][\w.]*)\+0x[0-9a-f]+\/0x[0-9a-f]+/gi, '$1')
    // `rcutorture.c:1700`: line numbers move with every patch.
    .replace(/(\.[A-Za-z]+):\d+(?::\d+)?/g, '$1')
    .replace(/\b0x[0-9a-f]+\b/gi, 'ADDR')
    // Bare addresses as the kernel prints pointers (`ffff888003e1c000`, hashed `00000000a1b2c3d4`).
    .replace(/\b[0-9a-f]{8,}\b/gi, 'ADDR')
    // Numbers not inside a word (`g4401`, `x86_64` stay): CPUs, pids, times (`22s`), counters.
    .replace(/(?<![\w.])\d+(?:\.\d+)*/g, 'N')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/[\s:,.]+$/, '');
  return out.length > MAX_TITLE ? `${out.slice(0, MAX_TITLE)}…` : out;
}
