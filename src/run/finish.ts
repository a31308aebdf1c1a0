import path from 'node:path';
import { readBzImageBanner } from '../build/kernel-banner.js';
import type { Batch } from '../plan/types.js';
import type { AccelProbe, BuiltQemuCommand } from '../qemu/index.js';
import { countVerdicts, runExitCode } from '../report/totals.js';
import type { InstanceResult, RunSummary } from '../report/types.js';
import { writeReports } from '../report/write.js';
import { writeRunFile } from '../rundir/files.js';
import { writeInside } from '../rundir/safe-write.js';
import { INSTANCE_FILES, RUN_FILES } from '../rundir/layout.js';
import type { TortureSuite } from '../scenarios/suites.js';
import type { ScenarioDirChoice } from '../scenarios/scenario-dir.js';
import { bootBatches } from './boot.js';
import type { HostLoad } from '../host-load/host-load.js';
import type { RunOptions } from './options.js';
import type { RunProgressListener } from '../progress/run-monitor.js';

export interface FinishRunInput {
  runDir: string;
  suite: TortureSuite;
  /** The scenario directory a fresh run took its scenarios from; summary.json names it. */
  scenarios?: ScenarioDirChoice;
  batches: Batch[];
  /** The qemu command of each instance that has a kernel, already written to its qemu-cmd. */
  commands: Map<string, BuiltQemuCommand>;
  /** One result per instance, in any order; verdicts are filled in here. */
  results: Map<string, InstanceResult>;
  options: Pick<RunOptions, 'durationSeconds' | 'shutdownGraceSeconds' | 'bootTimeoutSeconds'>;
  /** The accelerator the guests run under; absent when nothing boots. */
  accel?: AccelProbe;
  /** Prepare only (--buildonly, kvm-again --dryrun): mark the directory and boot nothing. */
  bootNothing: boolean;
  startedAt: Date;
  say: (line: string) => void;
  signal?: AbortSignal;
  progress?: RunProgressListener;
  /** Jitter and CPU pinning around the guests; absent: neither. */
  hostLoad?: HostLoad;
}

/**
 * The part every kind of run shares once its qemu-cmd files exist: boot the batches
 * (or mark the directory build-only), judge, and write summary.json and junit.xml.
 */
export async function finishRun(input: FinishRunInput): Promise<RunSummary> {
  const { runDir, say } = input;
  let interrupted = false;
  if (input.bootNothing) {
    writeRunFile(runDir, RUN_FILES.buildonly, '');
    for (const id of input.commands.keys()) writeInside(runDir, path.join(id, INSTANCE_FILES.buildonly), '');
  } else {
    if (!input.accel) throw new Error('finishRun: an accelerator is needed to boot');
    const banners = new Map(
      await Promise.all(
        [...input.commands.entries()].map(async ([id, command]) => [id, await readBzImageBanner(kernelOf(command.argv))] as const),
      ),
    );
    interrupted = await bootBatches({
      runDir,
      batches: input.batches,
      commands: input.commands,
      banners,
      results: input.results,
      suite: input.suite,
      options: input.options,
      accel: input.accel.accel,
      say,
      ...(input.signal ? { signal: input.signal } : {}),
      ...(input.progress ? { progress: input.progress } : {}),
      ...(input.hostLoad ? { hostLoad: input.hostLoad } : {}),
    });
  }
  const instances = input.batches.flatMap((b) => b.instances.map((x) => input.results.get(x.id)!));
  const endedAt = new Date().toISOString();
  const summary: RunSummary = {
    runDir,
    suite: input.suite.name,
    ...(input.scenarios ? { scenarios: input.scenarios } : {}),
    startedAt: input.startedAt.toISOString(),
    endedAt,
    durationSeconds: input.options.durationSeconds,
    ...(input.accel && !input.bootNothing ? { accel: input.accel.accel, accelReason: input.accel.reason } : {}),
    buildonly: input.bootNothing,
    interrupted,
    instances,
    totals: countVerdicts(instances),
    exitCode: runExitCode(instances, interrupted, input.bootNothing),
  };
  if (interrupted) writeRunFile(runDir, RUN_FILES.interrupted, `${endedAt}\n`);
  writeReports(summary);
  return summary;
}

/** Records the accelerator choice in the run log and the run's `accel` file. */
export function recordAccel(runDir: string, accel: AccelProbe, say: (line: string) => void): void {
  say(`Accelerator: ${accel.accel} (${accel.reason})`);
  writeRunFile(runDir, RUN_FILES.accel, `${accel.accel}\n${accel.reason}\n`);
}

function kernelOf(argv: string[]): string {
  const at = argv.lastIndexOf('-kernel');
  return argv[at + 1]!;
}
