import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { analyzeConsoleFile, formatDiags, judge } from '../analyze/index.js';
import { thinGpSeries } from '../analyze/gp-series.js';
import { lineNumbersIn } from '../analyze/line-numbers.js';
import type { Verdict } from '../analyze/types.js';
import type { KernelBanner } from '../build/kernel-banner.js';
import type { GuestRun } from '../qemu/types.js';
import { INSTANCE_FILES } from '../rundir/layout.js';
import type { TortureSuite } from '../scenarios/suites.js';

export function buildFailedVerdict(instance: string, failure: { reason: string; quoted: string[] }): Verdict {
  return { instance, kind: 'build-failed', reasons: [failure.reason], quoted: failure.quoted.slice(0, 20) };
}

export interface JudgeGuestInput {
  dir: string;
  guest: GuestRun;
  suite: TortureSuite;
  /** The kernel built for this instance, as its image says. */
  banner?: KernelBanner;
  durationSeconds: number;
}

/**
 * Reads the guest's console once, writes console.log.diags and the record of the
 * guest, and judges it. Used right after a guest ends and again by kvm-recheck.
 */
export async function judgeGuest(input: JudgeGuestInput): Promise<Verdict> {
  const { dir, guest } = input;
  const consoleLog = path.join(dir, INSTANCE_FILES.consoleLog);
  const findings = existsSync(consoleLog)
    ? await analyzeConsoleFile(consoleLog, { suite: input.suite, token: guest.token })
    : null;
  if (findings) writeFileSync(path.join(dir, INSTANCE_FILES.diags), formatDiags(findings));
  const verdict = judge({
    instance: guest.instance,
    findings,
    guest,
    expectedVersion: input.banner?.release ?? findings?.linuxVersion ?? '',
    ...(input.banner ? { expectedBanner: input.banner } : {}),
    durationSeconds: input.durationSeconds,
  });
  if (findings) {
    // For the report: where each quoted line is in console.log, and the plot of progress.
    if (verdict.quoted.length > 0) {
      verdict.quotedLines = await lineNumbersIn(consoleLog, verdict.quotedAt ? { offsets: verdict.quotedAt } : { tail: verdict.quoted.length });
    }
    // The count is zero at the start of the test: a short run's one or two statistics lines still make a line.
    const first = findings.gpSeries[0];
    const start: [number, number][] = findings.testStartedAt !== null && first && findings.testStartedAt < first[0] ? [[findings.testStartedAt, 0]] : [];
    const series = [...start, ...findings.gpSeries];
    if (series.length > 1) verdict.gpSeries = thinGpSeries(series);
  }
  writeFileSync(path.join(dir, INSTANCE_FILES.guest), `${JSON.stringify(guest, null, 2)}\n`);
  writeFileSync(path.join(dir, INSTANCE_FILES.verdict), `${JSON.stringify(verdict, null, 2)}\n`);
  return verdict;
}
