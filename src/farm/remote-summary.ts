import type { ScenarioInstance } from '../scenarios/types.js';
import { annotateResult } from './requeue.js';
import { firstFitDecreasing } from '../plan/pack.js';
import type { Batch } from '../plan/types.js';
import { countVerdicts, runExitCode } from '../report/totals.js';
import type { InstanceResult } from '../report/types.js';
import { writeReports } from '../report/write.js';
import { formatBatchesFile, formatScenariosFile, writeRunFile } from '../rundir/files.js';
import { RUN_FILES } from '../rundir/layout.js';
import type { CoordinateOutcome } from './coordinator.js';
import type { Member } from './member.js';
import type { RemoteStart } from './source.js';
import type { RemoteSummary } from './types.js';

export interface RecordRunInput {
  /** What the run started from; a resumed run has only these parts of it. */
  start: Pick<RemoteStart, 'sourceRunDir' | 'buildFailures' | 'scenarios' | 'builds'> & { prepared: Pick<RemoteStart['prepared'], 'runDir' | 'results' | 'durationSeconds'> };
  outcome: CoordinateOutcome;
  /** Every instance the hosts were to run. */
  instances: readonly ScenarioInstance[];
  suite: string;
  startedAt: Date;
  interrupted: boolean;
}

/**
 * Writes down how a farm run went, as a local run directory says it: accel,
 * scenarios, batches, summary.json, junit.xml (and `interrupted`), so kvm-recheck
 * and kvm-again read it as they read a local run. Returns the summary.
 */
export function recordRun(input: RecordRunInput): RemoteSummary {
  const { start, outcome, interrupted } = input;
  const { prepared } = start;
  const { members, quorum } = outcome;
  const runDir = prepared.runDir;
  const served = members.filter((m) => m.probe);
  const ready = served.filter((m) => quorum.ready.includes(m.name));
  if (ready.length > 0 && (quorum.trigger === 'all-ready' || quorum.trigger === 'countdown')) {
    writeRunFile(runDir, RUN_FILES.accel, `${ready[0]!.probe!.accel}\n${ready.map((m) => `${m.name}: ${m.probe!.accel} (${m.probe!.accelReason})`).join('\n')}\n`);
  }
  const ran = new Set(outcome.batches.flatMap((b) => b.instances.map((x) => x.id)));
  const never = writePlanFiles(runDir, outcome.batches, input.instances.filter((x) => !ran.has(x.id)), members);
  for (const b of never) for (const x of b.instances) prepared.results.get(x.id)!.batch = b.number;
  const ordered = [...prepared.results.values()].map((r) => annotateResult(r, outcome.ledger));
  const all: InstanceResult[] = [...ordered, ...start.buildFailures];
  const endedAt = new Date().toISOString();
  const summary: RemoteSummary = {
    runDir,
    suite: input.suite,
    ...(start.scenarios ? { scenarios: start.scenarios } : {}),
    startedAt: input.startedAt.toISOString(),
    endedAt,
    durationSeconds: prepared.durationSeconds,
    ...(served[0] ? { accel: served[0].probe!.accel } : {}),
    accelReason: served.map((m) => `${m.name}: ${m.probe!.accelReason}`).join('; '),
    buildonly: false,
    interrupted,
    instances: all,
    totals: countVerdicts(all),
    exitCode: runExitCode(all, interrupted),
    hosts: members.map((m) => ({
      ...m.report,
      state: m.machine.state,
      failure: m.machine.state === 'failed' ? (m.machine.lastFailure?.reason ?? m.machine.lastReason ?? 'failed') : null,
      ...(m.probe ? { cpus: m.probe.cpus, accel: m.probe.accel, accelReason: m.probe.accelReason, freeBytes: m.probe.freeBytes } : {}),
      batches: outcome.hostBatches.get(m.name) ?? [],
    })),
    quorum,
    sourceRunDir: start.sourceRunDir,
    ...(start.builds ? { builds: start.builds } : {}),
    timings: {
      shipAllMs: outcome.shipTimes.firstReady !== undefined && outcome.shipTimes.lastHeld !== undefined ? outcome.shipTimes.lastHeld - outcome.shipTimes.firstReady : 0,
      runMs: outcome.runMs,
    },
  };
  if (interrupted) writeRunFile(runDir, RUN_FILES.interrupted, `${endedAt}\n`);
  writeReports(summary);
  return summary;
}

/**
 * `scenarios` and `batches` as the run went: the batches in the order hosts took
 * them, then whatever never ran, packed for the widest host, so kvm-again and
 * kvm-recheck find every instance of an interrupted run.
 */
function writePlanFiles(runDir: string, ran: Batch[], never: Batch['instances'], members: readonly Member[]): Batch[] {
  const widest = Math.max(1, ...members.map((m) => m.probe?.cpus ?? 0));
  const rest: Batch[] = firstFitDecreasing(never, widest).map((bin, i) => ({
    number: ran.length + i + 1, instances: bin.instances, cpus: widest - bin.free, overflow: bin.free < 0,
  }));
  const batches = [...ran, ...rest];
  writeRunFile(runDir, RUN_FILES.scenarios, formatScenariosFile(batches));
  writeRunFile(runDir, RUN_FILES.batches, formatBatchesFile(batches, members.reduce((n, m) => n + (m.probe?.cpus ?? 0), 0)));
  return rest;
}
