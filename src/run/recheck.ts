import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { readBzImageBanner } from '../build/kernel-banner.js';
import { parseQemuCmdFile, SETTING } from '../qemu/index.js';
import type { Accel, GuestRun } from '../qemu/types.js';
import { countVerdicts, runExitCode } from '../report/totals.js';
import type { InstanceResult, RunSummary } from '../report/types.js';
import { writeReports } from '../report/write.js';
import { readRunDir } from '../rundir/files.js';
import { INSTANCE_FILES, RUN_FILES } from '../rundir/layout.js';
import { getSuite } from '../scenarios/suites.js';
import { scenarioOfInstance } from '../scenarios/configs-spec.js';
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
      const old = before.get(id);
      const result: InstanceResult = {
        instance: id,
        scenario: scenarioOfInstance(id),
        batch: batchIndex + 1,
        cpus: old?.cpus ?? 0,
        kernel: old?.kernel ?? { source: existsSync(path.join(instanceDir, INSTANCE_FILES.bzImage)) ? 'built' : 'build-failed', configMismatches: [] },
        warnings: old?.warnings ?? [],
      };
      const guest = readGuest(instanceDir, id);
      if (guest) {
        const image = path.join(instanceDir, INSTANCE_FILES.bzImage);
        const banner = existsSync(image) ? await readBzImageBanner(image) : undefined;
        result.guest = guest;
        result.host = guest.host;
        result.verdict = await judgeGuest({
          dir: instanceDir,
          guest,
          suite,
          ...(banner ? { banner } : {}),
          durationSeconds: durationOf(instanceDir) ?? previous?.durationSeconds ?? 0,
        });
      } else if (old?.verdict?.kind === 'build-failed' || result.kernel.source === 'build-failed') {
        result.verdict = old?.verdict ?? { instance: id, kind: 'build-failed', reasons: ['no kernel image in the run directory'], quoted: [] };
      } else if (!existsSync(path.join(instanceDir, INSTANCE_FILES.buildonly))) {
        result.verdict = old?.verdict ?? { instance: id, kind: 'infra-error', reasons: ['never booted: no console log'], quoted: [] };
      }
      instances.push(result);
    }
  }
  const interrupted = existsSync(path.join(run.dir, RUN_FILES.interrupted));
  const buildonly = existsSync(path.join(run.dir, RUN_FILES.buildonly));
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

function readPreviousSummary(runDir: string): RunSummary | undefined {
  const file = path.join(runDir, RUN_FILES.summary);
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as RunSummary;
  } catch {
    return undefined;
  }
}

/**
 * The guest's record: kvm-farm's guest.json, or for a console without one (an
 * rcutorture run, a hand-run qemu-cmd) a record made from qemu-cmd and qemu-retval.
 */
function readGuest(instanceDir: string, id: string): GuestRun | undefined {
  const recorded = path.join(instanceDir, INSTANCE_FILES.guest);
  if (existsSync(recorded)) return JSON.parse(readFileSync(recorded, 'utf8')) as GuestRun;
  const consoleLog = path.join(instanceDir, INSTANCE_FILES.consoleLog);
  if (!existsSync(consoleLog)) return undefined;
  const settings = readSettings(instanceDir);
  const retvalFile = path.join(instanceDir, INSTANCE_FILES.qemuRetval);
  const retval = existsSync(retvalFile) ? Number(readFileSync(retvalFile, 'utf8').trim()) : null;
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

function readSettings(instanceDir: string): Record<string, string> {
  const file = path.join(instanceDir, INSTANCE_FILES.qemuCmd);
  return existsSync(file) ? parseQemuCmdFile(readFileSync(file, 'utf8')).settings : {};
}

function durationOf(instanceDir: string): number | undefined {
  const seconds = Number(readSettings(instanceDir)[SETTING.seconds]);
  return Number.isFinite(seconds) && seconds > 0 ? seconds : undefined;
}
