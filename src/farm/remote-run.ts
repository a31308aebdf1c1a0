import { resolveRemoteSettings } from '../options/resolve-remote.js';
import { getSuite } from '../scenarios/suites.js';
import { BlobIndex, type Blob } from './blobs.js';
import { LOCALHOST, checkHostList } from './connect-hosts.js';
import { coordinate } from './coordinator.js';
import { realFleetSteps, realGuestSteps } from './farm-steps.js';
import { RemoteLog } from './remote-log.js';
import { remotePaths } from './remote-paths.js';
import { recordRun } from './remote-summary.js';
import { prepareRemoteRun } from './source.js';
import type { RemoteOptions, RemoteSummary } from './types.js';
import { openSlurmFarm, slurmFleetSteps } from '../slurm/index.js';

/** Reconnect attempts for an unreachable or lost host (backoff 2, 4, 8, then 15 s: about a minute in all). */
export const MAX_RECONNECTS = 6;

/**
 * kvm-remote as a library call: kernels built here (or taken from an earlier run),
 * every host gathered through its own state machine until the quorum is met, then
 * one shared queue from which each ready host takes its next batch. A host lost
 * mid-run has its instances rerun elsewhere and may rejoin. Returns a kvm-run
 * summary plus one report per host; summary.json, junit.xml and remote-log are in
 * the run directory, also when the quorum is not met (then it throws after writing).
 */
export async function remoteRun(options: RemoteOptions): Promise<RemoteSummary> {
  const say = options.log ?? (() => {});
  const startedAt = new Date();
  const connect = {
    ...(options.sshConfigFile ? { sshConfigFile: options.sshConfigFile } : {}),
    ...(options.agent !== undefined ? { agent: options.agent } : {}),
    ...(options.acceptNewHostKeys ? { acceptNewHostKeys: true } : {}),
    ...(options.connectTimeoutMs ? { connectTimeoutMs: options.connectTimeoutMs } : {}),
  };
  const { remoteDir, retries, gatherTimeoutMs, shipTimeoutMs } = resolveRemoteSettings(options);
  if (!options.slurm) checkHostList(options.hosts, connect);
  remotePaths(remoteDir, 'check');

  const start = await prepareRemoteRun(options.source, say, options.signal);
  const { prepared } = start;
  const runDir = prepared.runDir;
  const log = new RemoteLog(runDir, prepared.say);
  const suite = getSuite(prepared.source.suite);
  // On Slurm the allocation is asked for only now: no node sits idle while kernels build.
  const slurm = options.slurm ? await openSlurmFarm(options.slurm, (host, line) => log.event(host, line), options.signal) : undefined;
  try {
    return await runOnHosts(options, { start, log, suite, remoteDir, retries, gatherTimeoutMs, shipTimeoutMs, connect, startedAt }, slurm);
  } finally {
    if (slurm) log.event('-', await slurm.release());
  }
}

type RunContext = {
  start: Awaited<ReturnType<typeof prepareRemoteRun>>;
  log: RemoteLog;
  suite: ReturnType<typeof getSuite>;
  startedAt: Date;
  connect: Parameters<typeof realFleetSteps>[0]['connect'];
} & Pick<ReturnType<typeof resolveRemoteSettings>, 'remoteDir' | 'retries' | 'gatherTimeoutMs' | 'shipTimeoutMs'>;

async function runOnHosts(options: RemoteOptions, c: RunContext, slurm?: Awaited<ReturnType<typeof openSlurmFarm>>): Promise<RemoteSummary> {
  const { start, log, suite, remoteDir, retries, gatherTimeoutMs, shipTimeoutMs, connect, startedAt } = c;
  const { prepared } = start;
  const runDir = prepared.runDir;
  const hosts = slurm ? slurm.nodes.map((n) => n.name) : options.hosts;
  const { minHosts } = resolveRemoteSettings({ ...options, hosts, slurm: undefined });
  log.event('-', `kvm-remote ${slurm ? `--slurm (job ${slurm.jobId}) ` : ''}${hosts.join(' ')}: kernels from ${start.sourceRunDir}; --min-hosts ${minHosts}, --gather-timeout ${gatherTimeoutMs / 1000} s, --retries ${retries}`);
  const blobIndex = new BlobIndex();
  const instances = prepared.batches.flatMap((b) => b.instances).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const allBlobs = uniqueBlobs(instances.map((x) => blobIndex.ofCommand(prepared.commands.get(x.id)!)));
  allBlobs.catch(() => {});
  const signal = options.signal ? { signal: options.signal } : {};
  const runName = runDir.split('/').pop()!;

  const fleetSteps = realFleetSteps({
    connect, qemuBinary: [...prepared.commands.values()][0]!.argv[0]!, accel: options.accel ?? 'auto', remoteDir, blobs: allBlobs,
    shipConcurrency: options.shipConcurrency ?? hosts.length, shipTimeoutMs, log, ...signal,
  });
  const outcome = await coordinate({
    hosts, instances, results: prepared.results, runDir, minHosts, gatherTimeoutMs, retries,
    maxReconnects: MAX_RECONNECTS, keepRemote: options.keepRemote ?? false,
    pathsFor: (name) => (name === LOCALHOST ? undefined : remotePaths(remoteDir, runName)),
    fleetSteps: slurm ? slurmFleetSteps(fleetSteps, slurm) : fleetSteps,
    guestSteps: realGuestSteps({
      runDir, commands: prepared.commands, blobs: blobIndex, suite, durationSeconds: prepared.durationSeconds,
      shutdownGraceSeconds: prepared.shutdownGraceSeconds, bootTimeoutSeconds: start.bootTimeoutSeconds, log, ...signal,
    }),
    log, durationMs: prepared.durationSeconds * 1000, ...(options.onProgress ? { onProgress: options.onProgress } : {}), ...signal,
  });
  const summary = recordRun({ start, outcome, instances, suite: suite.name, startedAt, interrupted: options.signal?.aborted ?? false });
  if (outcome.failure) throw outcome.failure;
  return summary;
}

/** Each blob once, however many instances boot it. */
async function uniqueBlobs(lists: Promise<Map<string, Blob>>[]): Promise<Blob[]> {
  const byHash = new Map<string, Blob>();
  for (const found of await Promise.all(lists)) for (const blob of found.values()) byHash.set(blob.hash, blob);
  return [...byHash.values()];
}
