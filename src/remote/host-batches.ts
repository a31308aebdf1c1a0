import { existsSync } from 'node:fs';
import path from 'node:path';
import PQueue from 'p-queue';
import type { KernelBanner } from '../build/kernel-banner.js';
import type { Host } from '../hosts/index.js';
import type { Batch } from '../plan/types.js';
import { runGuest } from '../qemu/run-guest.js';
import { SETTING } from '../qemu/build-command.js';
import type { Accel, GuestRun, QemuCommand } from '../qemu/types.js';
import type { InstanceResult } from '../report/types.js';
import { judgeGuest } from '../run/judge-instance.js';
import type { TortureSuite } from '../scenarios/suites.js';
import type { HostTracker, RemoteLog } from './host-state.js';
import type { ProgressCounter } from './progress.js';
import { runRemoteGuest } from './remote-guest.js';
import type { RemoteBatchReport } from './types.js';

/** How one instance runs on its host. */
export interface PlacedInstance {
  /** The command as run there; for localhost the local one. */
  command: QemuCommand;
  /** Console file on the host; absent for localhost, whose runner writes the run directory directly. */
  remoteConsole?: string;
  banner?: KernelBanner;
}

export interface HostBatchesInput {
  host: Host;
  /** True for `localhost`: guests run with kvm-run's own runner, in place. */
  local: boolean;
  batches: Batch[];
  placed: Map<string, PlacedInstance>;
  results: Map<string, InstanceResult>;
  runDir: string;
  suite: TortureSuite;
  durationSeconds: number;
  shutdownGraceSeconds: number;
  bootTimeoutSeconds: number;
  tracker: HostTracker;
  log: RemoteLog;
  /** Start of the run phase: batch times are measured from here. */
  epoch: number;
  /** Judgements still being written; the caller waits for them all. */
  judged: Promise<void>[];
  progress: ProgressCounter;
  signal?: AbortSignal;
}

/**
 * Runs one host's batches one after another from a queue: the next batch starts the
 * moment the last guest of the previous one has exited (an exit event on its channel),
 * while the finished guests are fetched and judged alongside.
 */
export async function runHostBatches(input: HostBatchesInput): Promise<RemoteBatchReport[]> {
  const { host, log, runDir } = input;
  const stopFile = path.join(runDir, 'STOP');
  const reports: RemoteBatchReport[] = [];
  const queue = new PQueue({ concurrency: 1 });
  for (const batch of input.batches) {
    void queue.add(async () => {
      const ids = batch.instances.map((x) => x.id);
      if (input.signal?.aborted || existsSync(stopFile) || !input.tracker.usable(host.name)) {
        const why = input.signal?.aborted ? 'the run was interrupted' : existsSync(stopFile) ? 'STOP file' : `host ${host.name} failed: ${input.tracker.failure(host.name) ?? ''}`;
        for (const id of ids) notRun(input.results.get(id)!, why);
        input.progress.batchDropped(host.name);
        return;
      }
      input.tracker.move(host.name, 'running');
      const startedMs = Date.now() - input.epoch;
      log.event(host.name, `batch ${batch.number} started: ${ids.join(' ')}`);
      input.progress.batchStarted(host.name);
      // The batch is over when its last qemu has exited; fetching consoles and judging go on beside the next batch.
      await Promise.all(batch.instances.map((x) => new Promise<void>((exited) => {
        input.judged.push(runOne(input, x.id, stopFile, exited).finally(exited).then((guest) => collected(input, guest)));
      })));
      const endedMs = Date.now() - input.epoch;
      reports.push({ number: batch.number, instances: ids, startedMs, endedMs });
      log.event(host.name, `batch ${batch.number} ended after ${((endedMs - startedMs) / 1000).toFixed(1)} s`);
      input.progress.batchEnded(host.name);
      if (input.tracker.usable(host.name)) input.tracker.move(host.name, 'ready');
    });
  }
  await queue.onIdle();
  return reports;
}

function runOne(input: HostBatchesInput, id: string, stopFile: string, onExit: () => void): Promise<GuestRun> {
  const placed = input.placed.get(id)!;
  const dir = path.join(input.runDir, id);
  const common = {
    durationSeconds: input.durationSeconds,
    shutdownGraceSeconds: input.shutdownGraceSeconds,
    bootTimeoutSeconds: input.bootTimeoutSeconds,
    stopFile,
    ...(input.signal ? { signal: input.signal } : {}),
  };
  if (input.local) {
    const started = Date.now();
    // runGuest rejects only for options it cannot use; the record says so instead, as runBatch's does.
    return runGuest({ instance: id, host: input.host.name, command: placed.command, dir, writeQemuCmd: false, ...common }).catch((error: unknown): GuestRun => ({
      instance: id, host: input.host.name, exitCode: null, signal: null, timedOut: false, noOutput: false, stopped: false,
      startError: error instanceof Error ? error.message : String(error), durationMs: Date.now() - started,
      logPath: path.join(dir, 'console.log'), token: placed.command.settings[SETTING.token] ?? '', accel: (placed.command.settings[SETTING.accel] ?? 'tcg') as Accel,
    }));
  }
  return runRemoteGuest({ instance: id, host: input.host, command: placed.command, remoteConsole: placed.remoteConsole!, localDir: dir, onExit, ...common });
}

/** The console is in the run directory: record the guest and judge it as kvm-recheck would. */
async function collected(input: HostBatchesInput, guest: GuestRun): Promise<void> {
  const result = input.results.get(guest.instance)!;
  result.guest = guest;
  result.host = guest.host;
  input.log.event(input.host.name, `collected ${guest.instance} (${(guest.durationMs / 1000).toFixed(1)} s, exit ${guest.exitCode ?? guest.signal ?? 'none'})`, true);
  const banner = input.placed.get(guest.instance)?.banner;
  const verdict = await judgeGuest({
    dir: path.join(input.runDir, guest.instance),
    guest,
    suite: input.suite,
    ...(banner ? { banner } : {}),
    durationSeconds: input.durationSeconds,
  });
  result.verdict = verdict;
  input.progress.judged();
  input.log.event(input.host.name, `${guest.instance}: ${verdict.kind}${verdict.reasons.length ? ` (${verdict.reasons.join('; ')})` : ''}`);
}

export function notRun(result: InstanceResult, why: string): void {
  result.verdict = { instance: result.instance, kind: 'infra-error', reasons: [`not run: ${why}`], quoted: [] };
}
