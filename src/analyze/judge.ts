import { bannerMatches, formatBanner } from '../build/kernel-banner.js';
import { describeFailure, describeMissingEnd, describeSequenceProblem, FAILING_KINDS, KIND_LABELS, KIND_ORDER } from './diags.js';
import { commandLineHasToken } from './line-kinds.js';
import { failureTitle } from './title.js';
import type { ConsoleFindings, JudgeInput, ProblemKind, QuotedLine, Verdict } from './types.js';

/** At most this many console lines in a verdict, as zx quotes at most 20. */
export const MAX_QUOTED = 20;

/** The verdict of an instance whose kernel did not build: the build's reason and its log lines. */
export function buildFailedVerdict(instance: string, failure: { reason: string; quoted: readonly string[] }): Verdict {
  return { instance, kind: 'build-failed', reasons: [failure.reason], quoted: failure.quoted.slice(0, MAX_QUOTED) };
}

/** The verdict of an instance that never booted (interrupt, STOP file, no host): never the kernel's fault. */
export function notRunVerdict(instance: string, why: string): Verdict {
  return { instance, kind: 'infra-error', reasons: [`not run: ${why}`], quoted: [] };
}

/**
 * Judges one instance from plain data. Rules, first match wins: build failed;
 * qemu never started (infra, never the kernel's fault); nothing booted; the wrong
 * kernel booted; then the console. A hung guest whose console shows a failure is
 * 'fail', not 'hung': the failure (a stall, a BUG) usually explains the hang and
 * is what a person should look at first; the hang is kept as a reason.
 */
export function judge(input: JudgeInput): Verdict {
  const verdict = judgeKind(input);
  const title = failureTitle(input, verdict);
  return title === undefined ? verdict : { ...verdict, title };
}

function judgeKind(input: JudgeInput): Verdict {
  const { instance, findings: f, guest } = input;
  const base = { instance };
  if (input.buildFailed) return buildFailedVerdict(instance, input.buildFailed);
  if (guest?.infraFault) {
    return { ...base, kind: 'infra-error', reasons: [`${guest.infraFault.kind}: ${guest.infraFault.detail}`], quoted: [] };
  }
  if (guest?.signal && !guest.timedOut && !guest.noOutput && !guest.stopped) {
    // kvm-farm did not send it (its own kills set one of those flags): the host ended qemu, not the kernel.
    return { ...base, kind: 'infra-error', reasons: [`qemu was ended by ${guest.signal}, which kvm-farm did not send: a fault of the host, not the kernel`], quoted: [] };
  }
  if (guest?.startError) {
    return { ...base, kind: 'infra-error', reasons: [`qemu did not start: ${guest.startError}`], quoted: [] };
  }
  const noBoot = noBootReason(input);
  if (noBoot) {
    return { ...base, kind: 'no-boot', reasons: [noBoot], quoted: f ? f.tail.slice(-MAX_QUOTED) : [] };
  }
  const findings = f as ConsoleFindings; // noBootReason returned null, so there is a console
  const progress = gracePeriodFields(findings, input.durationSeconds);
  const wrong = wrongKernelReasons(input, findings);
  if (wrong.length > 0) {
    return { ...base, kind: 'wrong-kernel', reasons: wrong, quoted: [], ...progress };
  }

  const failKinds = KIND_ORDER.filter((k) => FAILING_KINDS.has(k) && (findings.counts[k] ?? 0) > 0);
  const warnKinds = KIND_ORDER.filter((k) => !FAILING_KINDS.has(k) && (findings.counts[k] ?? 0) > 0);
  const failReasons = consoleFailReasons(findings, failKinds);
  const warnReasons = warnKinds.map((k) => countReason(findings, k));
  const extraQuotes = findings.versionProblem ? [findings.versionProblem.line] : [];
  // A failed run still names its warnings: a WARNING: line says which file and line fired.
  const failQuotes = () => quoteFields(pickQuotes(findings, [...failKinds, ...warnKinds], extraQuotes));

  if (guest?.timedOut) {
    const hang = `hung: killed after the console stopped advancing (${findings.testStarted ? 'during the test' : 'before the test started'})`;
    if (failReasons.length > 0) {
      return { ...base, kind: 'fail', reasons: [...failReasons, ...warnReasons, hang], ...failQuotes(), ...progress };
    }
    return { ...base, kind: 'hung', reasons: [hang], quoted: findings.tail, ...progress };
  }
  if (failReasons.length > 0) {
    return { ...base, kind: 'fail', reasons: [...failReasons, ...warnReasons], ...failQuotes(), ...progress };
  }

  const exit = guest?.exitCode;
  if (exit !== undefined && exit !== null && exit !== 0) {
    // The console shows nothing wrong, so the error is qemu's own (kvm-recheck.sh
    // reports "QEMU error" here and does not read the console at all).
    return { ...base, kind: 'infra-error', reasons: [`qemu exited with code ${exit}`], quoted: findings.tail, ...progress };
  }

  const missing = describeMissingEnd(findings);
  if (missing) {
    const notStarted = findings.testStarted ? [] : [`the ${findings.suite} test never printed "Start of test"`];
    if (guest?.stopped) {
      // Stopped on purpose (STOP file, interrupt): the end line cannot be there.
      warnReasons.unshift(`stopped early: ${missing}`);
    } else {
      return { ...base, kind: 'fail', reasons: [missing, ...notStarted, ...warnReasons], quoted: findings.tail, ...progress };
    }
  }
  if (warnReasons.length > 0) {
    return { ...base, kind: 'warn', reasons: warnReasons, ...quoteFields(pickQuotes(findings, warnKinds, [])), ...progress };
  }
  return { ...base, kind: 'pass', reasons: [], quoted: [], ...progress };
}

function noBootReason(input: JudgeInput): string | null {
  const { findings: f, guest } = input;
  if (guest?.noOutput) return 'console stayed empty past the boot limit';
  if (!f) return 'no console log';
  if (f.bytes === 0) return 'console log is empty';
  if (f.linuxVersion === null) return `no "Linux version" line in ${f.bytes} bytes of console`;
  return null;
}

function wrongKernelReasons(input: JudgeInput, f: ConsoleFindings): string[] {
  const reasons: string[] = [];
  if (f.linuxVersion !== input.expectedVersion) {
    reasons.push(`booted Linux ${f.linuxVersion}, expected ${input.expectedVersion}`);
  } else if (input.expectedBanner && !bannerMatches(input.expectedBanner, f.linuxVersionLine ?? '')) {
    reasons.push(`booted another build of Linux ${f.linuxVersion}; expected ${formatBanner(input.expectedBanner)}`);
  }
  const token = input.expectedToken ?? input.guest?.token;
  if (token) {
    if (f.commandLine === null) reasons.push(`no "Command line:" line, so token ${token} cannot be checked`);
    else if (!commandLineHasToken(f.commandLine, token)) reasons.push(`token ${token} missing from the kernel command line`);
  }
  return reasons;
}

function consoleFailReasons(f: ConsoleFindings, failKinds: ProblemKind[]): string[] {
  const reasons: string[] = [];
  const failure = describeFailure(f);
  if (failure) reasons.push(failure);
  if (f.versionProblem) reasons.push(describeSequenceProblem(f.versionProblem));
  for (const k of failKinds) reasons.push(countReason(f, k));
  return reasons;
}

function countReason(f: ConsoleFindings, kind: ProblemKind): string {
  return `${KIND_LABELS[kind]} x${f.counts[kind] ?? 0}`;
}

/**
 * Up to {@link MAX_QUOTED} lines, taken in turn from each kind so twenty `!!!`
 * lines cannot hide the one BUG, then put back in console order.
 */
function pickQuotes(f: ConsoleFindings, kinds: ProblemKind[], extra: QuotedLine[]): QuotedLine[] {
  const lists = [extra, ...kinds.map((k) => f.quoted[k] ?? [])];
  const picked = new Map<number, QuotedLine>();
  for (let i = 0; picked.size < MAX_QUOTED && lists.some((l) => i < l.length); i++) {
    for (const list of lists) {
      const line = list[i];
      if (line && picked.size < MAX_QUOTED) picked.set(line.offset, line);
    }
  }
  return [...picked.values()].sort((a, b) => a.offset - b.offset);
}

/** The quoted texts, and where each starts in the log so a report can give its line number. */
function quoteFields(lines: QuotedLine[]): Pick<Verdict, 'quoted' | 'quotedAt'> {
  return { quoted: lines.map((l) => l.text), quotedAt: lines.map((l) => l.offset) };
}

function gracePeriodFields(f: ConsoleFindings, seconds: number): Pick<Verdict, 'gracePeriods' | 'gracePeriodRate'> {
  if (f.gracePeriods === null) return {};
  const out: Pick<Verdict, 'gracePeriods' | 'gracePeriodRate'> = { gracePeriods: f.gracePeriods };
  if (seconds > 0) out.gracePeriodRate = Math.round((f.gracePeriods / seconds) * 100) / 100;
  return out;
}
