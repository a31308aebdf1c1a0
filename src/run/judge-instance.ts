import path from 'node:path';
import { analyzeConsoleFile, formatDiags, judge } from '../analyze/index.js';
import { thinGpSeries } from '../analyze/gp-series.js';
import { lineNumbersIn } from '../analyze/line-numbers.js';
import type { Verdict } from '../analyze/types.js';
import type { KernelBanner } from '../build/kernel-banner.js';
import type { GuestRun } from '../qemu/types.js';
import { INSTANCE_FILES } from '../rundir/layout.js';
import { CONSOLE_FILE_BYTES, openInside } from '../rundir/safe-read.js';
import { writeInside } from '../rundir/safe-write.js';
import type { TortureSuite } from '../scenarios/suites.js';

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
  // The instance directory's parent is the run: nothing is read from or written to outside it.
  const runDir = path.dirname(dir);
  const id = path.basename(dir);
  const consoleLog = await openInside(runDir, path.join(id, INSTANCE_FILES.consoleLog), CONSOLE_FILE_BYTES);
  let findings = null;
  if (consoleLog) {
    await consoleLog.handle.close();
    findings = await analyzeConsoleFile(consoleLog.real, { suite: input.suite, token: guest.token, maxBytes: consoleLog.size });
  }
  if (findings) writeInside(runDir, path.join(id, INSTANCE_FILES.diags), formatDiags(findings));
  const verdict = judge({
    instance: guest.instance,
    findings,
    guest,
    expectedVersion: input.banner?.release ?? findings?.linuxVersion ?? '',
    ...(input.banner ? { expectedBanner: input.banner } : {}),
    durationSeconds: input.durationSeconds,
  });
  if (findings && consoleLog) {
    // For the report: where each quoted line is in console.log, and the plot of progress.
    if (verdict.quoted.length > 0) {
      verdict.quotedLines = await lineNumbersIn(consoleLog.real, verdict.quotedAt ? { offsets: verdict.quotedAt } : { tail: verdict.quoted.length });
    }
    // The count is zero at the start of the test: a short run's one or two statistics lines still make a line.
    const first = findings.gpSeries[0];
    const start: [number, number][] = findings.testStartedAt !== null && first && findings.testStartedAt < first[0] ? [[findings.testStartedAt, 0]] : [];
    const series = [...start, ...findings.gpSeries];
    if (series.length > 1) verdict.gpSeries = thinGpSeries(series);
  }
  writeInside(runDir, path.join(id, INSTANCE_FILES.guest), `${JSON.stringify(guest, null, 2)}\n`);
  writeInside(runDir, path.join(id, INSTANCE_FILES.verdict), `${JSON.stringify(verdict, null, 2)}\n`);
  return verdict;
}
