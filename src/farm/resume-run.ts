import { existsSync } from 'node:fs';
import path from 'node:path';
import { appendRunLog } from '../rundir/files.js';
import { getSuite } from '../scenarios/suites.js';
import { KvmFarmError } from '../util/errors.js';
import { printable } from '../util/printable.js';
import type { AccelRequest } from '../run/options.js';
import { BlobIndex, uniqueBlobs } from './blobs.js';
import { LOCALHOST, checkHostList, type HostConnectOptions } from './connect-hosts.js';
import { coordinate } from './coordinator.js';
import { realFleetSteps, realGuestSteps } from './farm-steps.js';
import { Journal, readJournal } from './journal.js';
import { RemoteLog } from './remote-log.js';
import { remotePaths } from './remote-paths.js';
import { MAX_RECONNECTS } from './remote-run.js';
import { recordRun } from './remote-summary.js';
import { planResume } from './resume.js';
import { lockRunDir } from './run-lock.js';
import type { RemoteProgress } from './progress.js';
import type { RemoteSummary } from './types.js';

/** `kvm-remote --resume RUNDIR`: what a resumed run may be told; everything else comes from the run's journal. */
export interface ResumeOptions {
  runDir: string;
  sshConfigFile?: string;
  agent?: string | null;
  acceptNewHostKeys?: boolean;
  connectTimeoutMs?: number;
  /** The qemu binary on the hosts; default the architecture's (never a word read from the run directory). */
  qemuCmd?: string;
  log?: (line: string) => void;
  onProgress?: (progress: RemoteProgress) => void;
  signal?: AbortSignal;
}

/**
 * Picks up a kvm-remote run whose coordinator died: reconnects to the run's hosts,
 * collects every guest that finished meanwhile, follows those still running (same
 * boot of their host), reruns only what never ran or was lost, and finishes the run
 * directory as the first coordinator would have. The directory is locked against a
 * second coordinator for as long as this runs.
 */
export async function resumeRemote(options: ResumeOptions): Promise<RemoteSummary> {
  const runDir = path.resolve(options.runDir);
  if (!existsSync(runDir)) throw new KvmFarmError('KVMFARM_NOT_A_RUNDIR', `--resume ${printable(options.runDir)}: no such run directory`);
  const unlock = lockRunDir(runDir);
  try {
    const state = readJournal(runDir);
    if (state.done) throw new KvmFarmError('KVMFARM_BAD_ARGUMENT', `--resume ${printable(runDir)}: that run finished; nothing to resume (kvm-again reruns it)`);
    const { start } = state;
    const hosts = start.hosts.map((h) => h.name);
    const connect: HostConnectOptions = {
      ...(options.sshConfigFile ? { sshConfigFile: options.sshConfigFile } : {}),
      ...(options.agent !== undefined ? { agent: options.agent } : {}),
      ...(options.acceptNewHostKeys ? { acceptNewHostKeys: true } : {}),
      ...(options.connectTimeoutMs ? { connectTimeoutMs: options.connectTimeoutMs } : {}),
    };
    checkHostList(hosts, connect);
    remotePaths(start.remoteDir, start.runName);
    const plan = planResume(runDir, state, options.qemuCmd);
    const say = (line: string): void => {
      options.log?.(line);
      appendRunLog(runDir, line);
    };
    const log = new RemoteLog(runDir, say);
    const suite = getSuite(start.suite);
    log.event('-', `resuming ${runDir}: ${plan.judgedBefore.length} instance(s) judged before, ${plan.seed.follow.length} to follow on their hosts, ${plan.queue.length} to run`);
    const journal = new Journal(runDir);
    const blobIndex = new BlobIndex();
    const allBlobs = uniqueBlobs(plan.instances.map((x) => blobIndex.ofCommand(plan.commands.get(x.id)!)));
    allBlobs.catch(() => {});
    const signal = options.signal ? { signal: options.signal } : {};
    const startedAt = new Date();
    const outcome = await coordinate({
      hosts, instances: plan.queue, results: plan.results, runDir,
      // Any host that answers may serve, at once: the run is under way already; the others join as they answer.
      minHosts: 1, gatherTimeoutMs: start.gatherTimeoutMs, countdownMs: 0, retries: start.retries,
      maxReconnects: MAX_RECONNECTS, keepRemote: start.keepRemote,
      pathsFor: (name) => (name === LOCALHOST ? undefined : remotePaths(start.remoteDir, start.runName)),
      fleetSteps: realFleetSteps({
        connect, qemuBinary: [...plan.commands.values()][0]!.argv[0]!, accel: start.accel as AccelRequest, remoteDir: start.remoteDir, blobs: allBlobs,
        shipConcurrency: hosts.length, shipTimeoutMs: 10 * 60_000, log, ...signal,
      }),
      guestSteps: realGuestSteps({
        runDir, commands: plan.commands, blobs: blobIndex, suite, durationSeconds: start.durationSeconds,
        shutdownGraceSeconds: start.shutdownGraceSeconds, bootTimeoutSeconds: start.bootTimeoutSeconds, log, ...signal,
      }),
      log, durationMs: start.durationSeconds * 1000, ...(options.onProgress ? { onProgress: options.onProgress } : {}), ...signal,
      lostGraceMs: start.lostGraceMs, journal, tags: new Map(start.hosts.map((h) => [h.name, h.tag])), resume: plan.seed,
    });
    const summary = recordRun({
      start: { sourceRunDir: start.sourceRunDir, buildFailures: [], prepared: { runDir, results: plan.results, durationSeconds: start.durationSeconds } },
      outcome, instances: plan.instances, suite: suite.name, startedAt, interrupted: options.signal?.aborted ?? false,
    });
    journal.write({ t: 'done' });
    if (outcome.failure) throw outcome.failure;
    return summary;
  } finally {
    unlock();
  }
}
