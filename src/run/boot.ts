import { existsSync } from 'node:fs';
import path from 'node:path';
import type { KernelBanner } from '../build/kernel-banner.js';
import type { Batch } from '../plan/types.js';
import { runBatch, type BuiltQemuCommand } from '../qemu/index.js';
import type { Accel } from '../qemu/types.js';
import type { InstanceResult } from '../report/types.js';
import { INSTANCE_FILES, RUN_FILES } from '../rundir/layout.js';
import type { TortureSuite } from '../scenarios/suites.js';
import { notRunVerdict } from '../analyze/judge.js';
import { judgeGuest } from './judge-instance.js';
import type { RunOptions } from './options.js';
import type { RunProgressListener } from '../progress/run-monitor.js';
import { pinBatch } from '../host-load/affinity.js';
import { startJitter, type Jitter } from '../host-load/jitter.js';
import type { HostLoad } from '../host-load/host-load.js';


export interface BootBatchesInput {
  runDir: string;
  batches: Batch[];
  /** The qemu command of each instance that has a kernel. */
  commands: Map<string, BuiltQemuCommand>;
  banners: Map<string, KernelBanner | undefined>;
  results: Map<string, InstanceResult>;
  suite: TortureSuite;
  options: Pick<RunOptions, 'durationSeconds' | 'shutdownGraceSeconds' | 'bootTimeoutSeconds'>;
  accel: Accel;
  say: (line: string) => void;
  signal?: AbortSignal;
  progress?: RunProgressListener;
  /** Absent: no jitter, no pinning. */
  hostLoad?: HostLoad;
}

/**
 * Runs the batches one after another, every guest of a batch at once, judging each
 * guest as it ends. A STOP file or an abort ends the running guests and skips the
 * remaining batches. Returns whether the run was interrupted.
 */
export async function bootBatches(input: BootBatchesInput): Promise<boolean> {
  const { runDir, say } = input;
  const stopFile = path.join(runDir, RUN_FILES.stop);
  let stopped = false;
  for (const [index, batch] of input.batches.entries()) {
    const runnable = batch.instances.filter((x) => input.commands.has(x.id));
    if (input.signal?.aborted || existsSync(stopFile)) {
      stopped = true;
      for (const x of runnable) {
        input.results.get(x.id)!.verdict = notRunVerdict(x.id, input.signal?.aborted ? 'the run was interrupted' : 'STOP file');
      }
      continue;
    }
    if (runnable.length === 0) continue;
    say(`Start batch ${index + 1}: ${runnable.map((x) => x.id).join(' ')}`);
    for (const x of runnable) {
      const consoleLog = path.join(runDir, x.id, INSTANCE_FILES.consoleLog);
      input.progress?.guestStarted?.({ instance: x.id, consoleLog, durationSeconds: input.options.durationSeconds });
    }
    const affinity = pinGuests(index + 1, runnable, input);
    const jitter = startBatchJitter(input);
    const judged: Promise<void>[] = [];
    try {
      await runBatch(
        runnable.map((x) => ({
          ...(affinity.has(x.id) ? { affinity: affinity.get(x.id)! } : {}),
          instance: x.id,
          command: input.commands.get(x.id)!,
          dir: path.join(runDir, x.id),
          durationSeconds: input.options.durationSeconds,
          shutdownGraceSeconds: input.options.shutdownGraceSeconds,
          bootTimeoutSeconds: input.options.bootTimeoutSeconds,
          stopFile,
          writeQemuCmd: false,
        })),
        {
          ...(input.signal ? { signal: input.signal } : {}),
          onGuestEnd: (guest) => {
            const result = input.results.get(guest.instance)!;
            result.guest = guest;
            result.host = guest.host;
            const banner = input.banners.get(guest.instance);
            judged.push(
              judgeGuest({
                dir: path.join(runDir, guest.instance),
                guest,
                suite: input.suite,
                ...(banner ? { banner } : {}),
                durationSeconds: input.options.durationSeconds,
              }).then((verdict) => {
                result.verdict = verdict;
                input.progress?.guestEnded?.(guest.instance, verdict);
                say(`${guest.instance}: ${verdict.kind}${verdict.reasons.length ? ` (${verdict.reasons.join('; ')})` : ''}`);
              }),
            );
          },
        },
      );
    } finally {
      // Whatever ended the batch (its guests, Ctrl-C, an error), no jitter outlives it.
      await jitter?.stop();
    }
    await Promise.all(judged);
    say(`End batch ${index + 1}`);
    if (input.signal?.aborted) stopped = true;
  }
  return stopped || (input.signal?.aborted ?? false);
}

/** Gives each guest of the batch its own CPUs (kvm.sh's taskset), and records them in its result. */
function pinGuests(batchNumber: number, runnable: Batch['instances'], input: BootBatchesInput): Map<string, string> {
  const load = input.hostLoad;
  if (!load?.pinGuests) return new Map();
  const pinning = pinBatch(runnable.map((x) => ({ id: x.id, cpus: x.cpus })), load.cpus);
  if (!pinning.pinned) {
    input.say(`Batch ${batchNumber} not pinned to CPUs: ${pinning.reason}`);
    return new Map();
  }
  for (const [id, list] of pinning.lists) {
    input.results.get(id)!.affinity = list;
    input.say(`${id}: pinned to CPUs ${list}`);
  }
  return pinning.lists;
}

function startBatchJitter(input: BootBatchesInput): Jitter | undefined {
  const load = input.hostLoad;
  if (!load || load.jitter.count <= 0) return undefined;
  const { durationSeconds, shutdownGraceSeconds, bootTimeoutSeconds } = input.options;
  const jitter = startJitter({
    settings: load.jitter.settings,
    count: load.jitter.count,
    cpus: load.cpus,
    // The batch stops them; this only bounds them should this process be killed outright.
    lifetimeSeconds: durationSeconds + shutdownGraceSeconds + bootTimeoutSeconds + 60,
    runDir: input.runDir,
  });
  input.say(`Jitter: ${load.jitter.count} processes (pids ${jitter.pids.join(' ')}), sleeps up to ${load.jitter.settings.maxSleepUs} us, spins up to ${load.jitter.settings.maxSpinUs} us`);
  return jitter;
}
