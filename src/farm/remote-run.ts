import { randomBytes } from 'node:crypto';
import { resolveRemoteSettings } from '../options/resolve-remote.js';
import { Journal } from './journal.js';
import { lockRunDir } from './run-lock.js';
import { getSuite } from '../scenarios/suites.js';
import { BlobIndex, type Blob } from './blobs.js';
import { LOCALHOST, checkHostList } from './connect-hosts.js';
import { coordinate } from './coordinator.js';
import { realFleetSteps, realGuestSteps } from './farm-steps.js';
import { RemoteLog } from './remote-log.js';
import { remotePaths } from './remote-paths.js';
import { recordRun } from './remote-summary.js';
import { buildForRemote, prepareRemoteRun, type FarmBuildSetup } from './source.js';
import { DEFAULTS } from '../options/defaults.js';
import { KvmFarmError } from '../util/errors.js';
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
  const { remoteDir, retries, gatherTimeoutMs, shipTimeoutMs, lostGraceMs } = resolveRemoteSettings(options);
  if (!options.slurm) checkHostList(options.hosts, connect);
  remotePaths(remoteDir, 'check');

  // A Slurm allocation is asked for only after the build: its kernels are built here.
  const farmSetup: FarmBuildSetup = {
    hosts: options.slurm ? [] : options.hosts, connect, remoteDir, buildOn: options.slurm ? 'here' : options.buildOn,
    shipTimeoutMs: DEFAULTS.sourceShipTimeoutMs, buildTimeoutMs: DEFAULTS.buildTimeoutMs,
  };
  if (options.buildonly) return buildOnly(options, say, farmSetup, startedAt);
  const start = await prepareRemoteRun(options.source, say, options.signal, farmSetup);
  const log = new RemoteLog(start.prepared.runDir, start.prepared.say);
  const suite = getSuite(start.prepared.source.suite);
  for (const h of start.builds?.hosts ?? []) {
    log.event(h.name, h.builder
      ? `built ${h.builds.map((b) => `${b.label} (${(b.ms / 1000).toFixed(1)} s${b.ok ? '' : ', failed'})`).join(', ') || 'nothing'}; source: ${h.source ? `${h.source.bytes} bytes sent` : 'not sent'}${h.lost ? `; lost: ${h.lost}` : ''}`
      : `built nothing: ${h.why ?? 'cannot build'}`);
  }
  // On Slurm the allocation is asked for only now: no node sits idle while kernels build.
  const slurm = options.slurm ? await openSlurmFarm(options.slurm, (host, line) => log.event(host, line), options.signal) : undefined;
  try {
    return await runOnHosts(options, { start, log, suite, remoteDir, retries, gatherTimeoutMs, shipTimeoutMs, lostGraceMs, connect, startedAt }, slurm);
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
} & Pick<ReturnType<typeof resolveRemoteSettings>, 'remoteDir' | 'retries' | 'gatherTimeoutMs' | 'shipTimeoutMs' | 'lostGraceMs'>;

async function runOnHosts(options: RemoteOptions, c: RunContext, slurm?: Awaited<ReturnType<typeof openSlurmFarm>>): Promise<RemoteSummary> {
  const { start, log, suite, remoteDir, retries, gatherTimeoutMs, shipTimeoutMs, lostGraceMs, connect, startedAt } = c;
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
  // Another coordinator on this directory (a --resume started too early) would run every guest twice.
  const unlock = lockRunDir(runDir);
  const tags = new Map(hosts.map((h) => [h, randomBytes(8).toString('hex')]));
  const journal = new Journal(runDir);
  journal.write({
    t: 'start', runName, hosts: hosts.map((name) => ({ name, tag: tags.get(name)! })), remoteDir, retries, minHosts, gatherTimeoutMs, lostGraceMs,
    durationSeconds: prepared.durationSeconds, shutdownGraceSeconds: prepared.shutdownGraceSeconds, bootTimeoutSeconds: start.bootTimeoutSeconds,
    suite: suite.name, sourceRunDir: start.sourceRunDir, accel: options.accel ?? 'auto', keepRemote: options.keepRemote ?? false,
    instances: instances.map((x) => ({ id: x.id, scenario: x.scenario.name, cpus: x.cpus })),
  });
  try {
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
      lostGraceMs, journal, tags,
    });
    const summary = recordRun({ start, outcome, instances, suite: suite.name, startedAt, interrupted: options.signal?.aborted ?? false });
    journal.write({ t: 'done' });
    if (outcome.failure) throw outcome.failure;
    return summary;
  } finally {
    unlock();
  }
}

/** `kvm-remote HOSTS --buildonly`: the build phase alone; the run directory is kvm-run --buildonly's. */
async function buildOnly(options: RemoteOptions, say: (line: string) => void, farmSetup: FarmBuildSetup, startedAt: Date): Promise<RemoteSummary> {
  if (options.source.kind !== 'build') throw new KvmFarmError('KVMFARM_BAD_ARGUMENT', '--buildonly needs kernels to build, not an earlier run directory');
  const { built, builds } = await buildForRemote(options.source.options, say, farmSetup, options.signal);
  return {
    ...built, hosts: [], sourceRunDir: built.runDir, timings: { shipAllMs: 0, runMs: 0 }, ...(builds ? { builds } : {}),
    quorum: { minHosts: 0, ready: [], missing: [], trigger: 'all-ready', elapsedMs: Date.now() - startedAt.getTime() },
  };
}

/** Each blob once, however many instances boot it. */
export async function uniqueBlobs(lists: Promise<Map<string, Blob>>[]): Promise<Blob[]> {
  const byHash = new Map<string, Blob>();
  for (const found of await Promise.all(lists)) for (const blob of found.values()) byHash.set(blob.hash, blob);
  return [...byHash.values()];
}
