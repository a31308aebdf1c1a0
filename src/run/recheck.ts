import { statSync } from 'node:fs';
import path from 'node:path';
import { buildFailedVerdict, notRunVerdict } from '../analyze/judge.js';
import { readBzImageBanner } from '../build/kernel-banner.js';
import { parseQemuCmdFile, SETTING } from '../qemu/index.js';
import type { Accel, GuestRun } from '../qemu/types.js';
import { countVerdicts, runExitCode, VERDICT_KINDS } from '../report/totals.js';
import type { VerdictKind } from '../analyze/types.js';
import type { InstanceResult, RunSummary } from '../report/types.js';
import { writeReports } from '../report/write.js';
import { readRunDir } from '../rundir/files.js';
import { readTextInside, regularFileInside } from '../rundir/safe-read.js';
import { printable } from '../util/printable.js';
import { KvmFarmError } from '../util/errors.js';
import { INSTANCE_FILES, RUN_FILES } from '../rundir/layout.js';
import { getSuite } from '../scenarios/suites.js';
import { scenarioOfInstance } from '../scenarios/configs-spec.js';
import { parseGuestRecord } from './guest-record.js';
import { judgeGuest } from './judge-instance.js';

/**
 * kvm-recheck as a library call: judge every instance of a run directory again from
 * what is on disk (console logs, guest records, kernel images), rewrite the diags,
 * summary.json and junit.xml, and return the summary. Works on runs that were
 * interrupted, and on console logs of guests kvm-farm did not start itself.
 */
export async function recheckRun(dir: string): Promise<RunSummary> {
  const run = readRunDir(dir);
  const suite = getSuite(run.suite);
  const previous = readPreviousSummary(run.dir);
  const before = new Map(previous?.instances.map((x) => [x.instance, x]));
  const instances: InstanceResult[] = [];
  for (const [batchIndex, batch] of run.batches.entries()) {
    for (const id of batch) {
      const instanceDir = path.join(run.dir, id);
      // Every file of the run is read through the safe-open rule, against the run directory.
      const has = (name: string) => regularFileInside(run.dir, path.join(id, name)) !== undefined;
      const old = before.get(id);
      const result: InstanceResult = {
        instance: id,
        scenario: scenarioOfInstance(id),
        batch: batchIndex + 1,
        cpus: old?.cpus ?? 0,
        kernel: old?.kernel ?? { source: has(INSTANCE_FILES.bzImage) ? 'built' : 'build-failed', configMismatches: [] },
        warnings: old?.warnings ?? [],
      };
      const guest = readGuest(run.dir, id);
      if (guest) {
        const image = regularFileInside(run.dir, path.join(id, INSTANCE_FILES.bzImage));
        const banner = image ? await readBzImageBanner(image.real) : undefined;
        result.guest = guest;
        result.host = guest.host;
        result.verdict = await judgeGuest({
          dir: instanceDir,
          guest,
          suite,
          ...(banner ? { banner } : {}),
          durationSeconds: durationOf(run.dir, id) ?? previous?.durationSeconds ?? 0,
        });
      } else if (old?.verdict?.kind === 'build-failed' || result.kernel.source === 'build-failed') {
        result.verdict = old?.verdict ?? buildFailedVerdict(id, { reason: 'no kernel image in the run directory', quoted: [] });
      } else if (!has(INSTANCE_FILES.buildonly)) {
        result.verdict = old?.verdict ?? notRunVerdict(id, 'no console log');
      }
      instances.push(result);
    }
  }
  const interrupted = regularFileInside(run.dir, RUN_FILES.interrupted) !== undefined;
  const buildonly = regularFileInside(run.dir, RUN_FILES.buildonly) !== undefined;
  const summary: RunSummary = {
    // What only other kinds of run record (kvm-remote's hosts and timings) stays, for the report.
    ...previous,
    runDir: run.dir,
    suite: suite.name,
    startedAt: previous?.startedAt ?? statSync(run.dir).mtime.toISOString(),
    endedAt: previous?.endedAt ?? new Date().toISOString(),
    durationSeconds: previous?.durationSeconds ?? 0,
    ...(previous?.accel ? { accel: previous.accel } : {}),
    ...(previous?.accelReason ? { accelReason: previous.accelReason } : {}),
    buildonly,
    interrupted,
    instances,
    totals: countVerdicts(instances),
    exitCode: runExitCode(instances, interrupted, buildonly),
  };
  writeReports(summary);
  return summary;
}

/**
 * The run's earlier summary.json, whose per-instance fields carry over where the disk
 * has nothing newer. It is the run directory's word, so only well-formed entries count.
 */
function readPreviousSummary(runDir: string): RunSummary | undefined {
  try {
    const summary = JSON.parse(readTextInside(runDir, RUN_FILES.summary) ?? 'null') as RunSummary | null;
    if (!summary || typeof summary !== 'object' || !Array.isArray(summary.instances)) return undefined;
    const instances = summary.instances.filter((x) => x && typeof x.instance === 'string' && isKernel(x.kernel) && Array.isArray(x.warnings) && (x.verdict === undefined || isVerdict(x.verdict)));
    return { ...summary, instances };
  } catch {
    return undefined;
  }
}

function isKernel(k: unknown): boolean {
  return typeof k === 'object' && k !== null && typeof (k as { source?: unknown }).source === 'string' && Array.isArray((k as { configMismatches?: unknown }).configMismatches);
}

function isVerdict(v: unknown): boolean {
  const x = v as { kind?: unknown; reasons?: unknown; quoted?: unknown; gracePeriods?: unknown; gracePeriodRate?: unknown };
  const numberOrAbsent = (n: unknown) => n === undefined || (typeof n === 'number' && Number.isFinite(n));
  return typeof x === 'object' && x !== null && VERDICT_KINDS.includes(x.kind as VerdictKind) && Array.isArray(x.reasons) && Array.isArray(x.quoted)
    && numberOrAbsent(x.gracePeriods) && numberOrAbsent(x.gracePeriodRate);
}

/**
 * The guest's record: kvm-farm's guest.json, or for a console without one (an
 * rcutorture run, a hand-run qemu-cmd) a record made from qemu-cmd and qemu-retval.
 * A guest.json that is not a guest record is an error naming it.
 */
function readGuest(runDir: string, id: string): GuestRun | undefined {
  const recordedName = path.join(id, INSTANCE_FILES.guest);
  const recorded = readTextInside(runDir, recordedName);
  if (recorded !== undefined) return parseGuestRecord(recorded, path.join(runDir, recordedName), id, path.join(runDir, id, INSTANCE_FILES.consoleLog));
  const consoleLog = path.join(runDir, id, INSTANCE_FILES.consoleLog);
  if (!regularFileInside(runDir, consoleLog)) return undefined;
  const settings = readSettings(runDir, id);
  const retvalText = readTextInside(runDir, path.join(id, INSTANCE_FILES.qemuRetval));
  const retval = retvalText === undefined ? null : Number(retvalText.trim());
  return {
    instance: id,
    host: 'localhost',
    exitCode: Number.isInteger(retval) ? retval : null,
    signal: null,
    timedOut: false,
    noOutput: false,
    stopped: false,
    startError: null,
    durationMs: 0,
    logPath: consoleLog,
    token: settings[SETTING.token] ?? '',
    accel: (settings[SETTING.accel] ?? 'tcg') as Accel,
  };
}

function readSettings(runDir: string, id: string): Record<string, string> {
  const name = path.join(id, INSTANCE_FILES.qemuCmd);
  const text = readTextInside(runDir, name);
  if (text === undefined) return {};
  try {
    return parseQemuCmdFile(text).settings;
  } catch (error) {
    throw new KvmFarmError('KVMFARM_BAD_QEMU_CMD', `${printable(path.join(runDir, name))}: ${(error as Error).message}`);
  }
}

function durationOf(runDir: string, id: string): number | undefined {
  const seconds = Number(readSettings(runDir, id)[SETTING.seconds]);
  return Number.isFinite(seconds) && seconds > 0 ? seconds : undefined;
}
