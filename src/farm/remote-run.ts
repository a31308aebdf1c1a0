import { randomBytes } from 'node:crypto';
import { resolveRemoteSettings } from '../options/resolve-remote.js';
import { Journal } from './journal.js';
import { lockRunDir } from './run-lock.js';
import { getSuite } from '../scenarios/suites.js';
import { BlobIndex, uniqueBlobs } from './blobs.js';
import { LOCALHOST, checkHostList } from './connect-hosts.js';
import { coordinate } from './coordinator.js';
import { realFleetSteps, realGuestSteps } from './farm-steps.js';
import { RemoteLog } from './remote-log.js';
import { remotePaths } from './remote-paths.js';
import { recordRun } from './remote-summary.js';
import { buildForRemote, prepareRemoteRun, type FarmBuildSetup } from './source.js';
import { DEFAULTS } from '../options/defaults.js';
import { KvmFarmError } from '../util/errors.js';
import type { RemoteOptions, RemoteSource, RemoteSummary } from './types.js';
import { BuildFarm, type FarmBuildReport } from './build-farm.js';
import { KernelFeed } from './kernel-feed.js';
import type { KernelSupply } from './coordinator.js';
import type { RecordRunInput } from './remote-summary.js';
import { runKvm } from '../run/kvm-run.js';
import { ARCHES } from '../qemu/arch.js';
import type { ScenarioInstance } from '../scenarios/types.js';
import type { InstanceResult } from '../report/types.js';
import type { BuiltQemuCommand } from '../qemu/index.js';
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
  const settings = { remoteDir, retries, gatherTimeoutMs, shipTimeoutMs, lostGraceMs, connect, startedAt };
  if (options.source.kind === 'build' && !options.slurm && options.buildOn !== 'here') {
    return buildAndRun(options, options.source.options, farmSetup, settings);
  }
  const start = await prepareRemoteRun(options.source, say, options.signal, farmSetup);
  const { prepared } = start;
  const log = new RemoteLog(prepared.runDir, prepared.say);
  logBuilds(log, start.builds);
  // On Slurm the allocation is asked for only now: no node sits idle while kernels build.
  const slurm = options.slurm ? await openSlurmFarm(options.slurm, (host, line) => log.event(host, line), options.signal) : undefined;
  const instances = prepared.batches.flatMap((b) => b.instances);
  try {
    return await runOnHosts(options, {
      ...settings, log, runDir: prepared.runDir, sourceRunDir: start.sourceRunDir, suite: getSuite(prepared.source.suite), instances,
      results: prepared.results, commands: prepared.commands, durationSeconds: prepared.durationSeconds,
      shutdownGraceSeconds: prepared.shutdownGraceSeconds, bootTimeoutSeconds: start.bootTimeoutSeconds, recorded: async () => start,
      qemuBinary: [...prepared.commands.values()][0]!.argv[0]!,
    }, slurm);
  } finally {
    if (slurm) log.event('-', await slurm.release());
  }
}

/**
 * A fresh build whose kernels are built on the hosts (or here, should none build):
 * builds and batches share the hosts, and each kernel's guests start as soon as it
 * is built, while other kernels still build. The build keeps its own run directory
 * (kvm-run --buildonly's), the guests run in `<it>-remote`, as in the two-step way.
 */
async function buildAndRun(options: RemoteOptions, o: Extract<RemoteSource, { kind: 'build' }>['options'], farmSetup: FarmBuildSetup, settings: Settings): Promise<RemoteSummary> {
  const say = options.log ?? (() => {});
  // The build stops once the run has ended without needing it (interrupt, quorum not met, STOP, no host left).
  const stopBuild = new AbortController();
  const onAbort = (): void => stopBuild.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) onAbort();
  const farm = new BuildFarm({ ...farmSetup, kernelDir: o.kernelDir, kmakeArgs: o.kmakeArgs, log: (line) => say(`build farm: ${line}`), signal: stopBuild.signal });
  const feed = new KernelFeed({ farm, log: say, shutdownGraceSeconds: o.shutdownGraceSeconds, ...(o.qemuCmd ? { qemuCmd: o.qemuCmd } : {}) });
  const building = runKvm({ ...o, buildonly: true, log: say, signal: stopBuild.signal, kernelCompiler: farm.compiler, kernels: feed });
  building.catch(() => {});
  try {
    const fed = await Promise.race([feed.opened, building.then(() => { throw new KvmFarmError('KVMFARM_BUILD_SETUP', 'the build ended before planning its instances'); })]);
    // However the build ends, no instance waits on for a kernel that will not come.
    void building.then(() => feed.ended('its kernel was not built'), (error: Error) => feed.ended(`the build stopped: ${error.message}`));
    const log = new RemoteLog(fed.runDir, fed.say);
    const outcome = await runOnHosts(options, {
      ...settings, log, runDir: fed.runDir, sourceRunDir: fed.buildRunDir, suite: getSuite(fed.suite), instances: fed.instances,
      results: fed.results, commands: fed.commands, durationSeconds: o.durationSeconds, shutdownGraceSeconds: o.shutdownGraceSeconds,
      bootTimeoutSeconds: o.bootTimeoutSeconds, supply: feed, qemuBinary: o.qemuCmd ?? ARCHES.x86_64.qemu,
      recorded: async () => {
        // Kernels nobody will boot now (the run ended early) are not waited for.
        if (feed.pending) stopBuild.abort();
        const built = await building.catch(() => undefined);
        const builds = farm.report();
        logBuilds(log, builds);
        // As in the two-step way: a kernel that did not build is reported from the build's own record, and is not in the run's plan.
        const buildFailures = built?.instances.filter((x) => x.verdict?.kind === 'build-failed') ?? [];
        for (const x of buildFailures) fed.results.delete(x.instance);
        return { sourceRunDir: fed.buildRunDir, prepared: { runDir: fed.runDir, results: fed.results, durationSeconds: o.durationSeconds }, buildFailures, ...(built?.scenarios ? { scenarios: built.scenarios } : {}), ...(builds ? { builds } : {}) };
      },
    });
    return outcome;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    if (feed.pending) stopBuild.abort();
    await building.catch(() => undefined);
    await farm.close();
  }
}

function logBuilds(log: RemoteLog, builds: FarmBuildReport | undefined): void {
  for (const h of builds?.hosts ?? []) {
    log.event(h.name, h.builder
      ? `built ${h.builds.map((b) => `${b.label} (${(b.ms / 1000).toFixed(1)} s${b.ok ? '' : ', failed'})`).join(', ') || 'nothing'}; source: ${h.source ? `${h.source.bytes} bytes sent` : 'not sent'}${h.lost ? `; lost: ${h.lost}` : ''}`
      : `built nothing: ${h.why ?? 'cannot build'}`);
  }
}

type Settings = Pick<ReturnType<typeof resolveRemoteSettings>, 'remoteDir' | 'retries' | 'gatherTimeoutMs' | 'shipTimeoutMs' | 'lostGraceMs'> & {
  startedAt: Date;
  connect: Parameters<typeof realFleetSteps>[0]['connect'];
};

/** What the hosts run, however its kernels came: built before, or still being built (supply). */
type HostsRun = Settings & {
  log: RemoteLog;
  runDir: string;
  sourceRunDir: string;
  suite: ReturnType<typeof getSuite>;
  instances: ScenarioInstance[];
  results: Map<string, InstanceResult>;
  /** Every instance's command; with a supply, filled in as kernels are built. */
  commands: Map<string, BuiltQemuCommand>;
  durationSeconds: number;
  shutdownGraceSeconds: number;
  bootTimeoutSeconds: number;
  /** The qemu binary the hosts are probed with. */
  qemuBinary: string;
  supply?: KernelSupply;
  /** What the run started from, for its record; asked once the guests are done. */
  recorded: () => Promise<RecordRunInput['start']>;
};

async function runOnHosts(options: RemoteOptions, c: HostsRun, slurm?: Awaited<ReturnType<typeof openSlurmFarm>>): Promise<RemoteSummary> {
  const { log, suite, remoteDir, retries, gatherTimeoutMs, shipTimeoutMs, lostGraceMs, connect, startedAt, runDir } = c;
  const hosts = slurm ? slurm.nodes.map((n) => n.name) : options.hosts;
  const { minHosts } = resolveRemoteSettings({ ...options, hosts, slurm: undefined });
  log.event('-', `kvm-remote ${slurm ? `--slurm (job ${slurm.jobId}) ` : ''}${hosts.join(' ')}: kernels from ${c.sourceRunDir}${c.supply ? ' as each is built' : ''}; --min-hosts ${minHosts}, --gather-timeout ${gatherTimeoutMs / 1000} s, --retries ${retries}`);
  const blobIndex = new BlobIndex();
  const instances = [...c.instances].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  // Every host gets the kernels as it comes up; while they are still being built, those built by then (the rest before its batches).
  const allBlobs = c.supply
    ? () => uniqueBlobs([...c.commands.values()].map((command) => blobIndex.ofCommand(command)))
    : uniqueBlobs(instances.map((x) => blobIndex.ofCommand(c.commands.get(x.id)!)));
  if (typeof allBlobs !== 'function') allBlobs.catch(() => {});
  const signal = options.signal ? { signal: options.signal } : {};
  const runName = runDir.split('/').pop()!;
  // Another coordinator on this directory (a --resume started too early) would run every guest twice.
  const unlock = lockRunDir(runDir);
  const tags = new Map(hosts.map((h) => [h, randomBytes(8).toString('hex')]));
  const journal = new Journal(runDir);
  journal.write({
    t: 'start', runName, hosts: hosts.map((name) => ({ name, tag: tags.get(name)! })), remoteDir, retries, minHosts, gatherTimeoutMs, lostGraceMs,
    durationSeconds: c.durationSeconds, shutdownGraceSeconds: c.shutdownGraceSeconds, bootTimeoutSeconds: c.bootTimeoutSeconds,
    suite: suite.name, sourceRunDir: c.sourceRunDir, accel: options.accel ?? 'auto', keepRemote: options.keepRemote ?? false,
    instances: instances.map((x) => ({ id: x.id, scenario: x.scenario.name, cpus: x.cpus })),
  });
  try {
    const fleetSteps = realFleetSteps({
      connect, qemuBinary: c.qemuBinary, accel: options.accel ?? 'auto', remoteDir, blobs: allBlobs,
      shipConcurrency: options.shipConcurrency ?? hosts.length, shipTimeoutMs, log, ...signal,
    });
    const outcome = await coordinate({
      hosts, instances, results: c.results, runDir, minHosts, gatherTimeoutMs, retries,
      maxReconnects: MAX_RECONNECTS, keepRemote: options.keepRemote ?? false,
      pathsFor: (name) => (name === LOCALHOST ? undefined : remotePaths(remoteDir, runName)),
      fleetSteps: slurm ? slurmFleetSteps(fleetSteps, slurm) : fleetSteps,
      guestSteps: realGuestSteps({
        runDir, commands: c.commands, blobs: blobIndex, suite, durationSeconds: c.durationSeconds,
        shutdownGraceSeconds: c.shutdownGraceSeconds, bootTimeoutSeconds: c.bootTimeoutSeconds, log, ...signal,
        ...(c.supply ? { shipOnPlaceMs: shipTimeoutMs } : {}),
      }),
      log, durationMs: c.durationSeconds * 1000, ...(options.onProgress ? { onProgress: options.onProgress } : {}), ...signal,
      lostGraceMs, journal, tags, ...(c.supply ? { supply: c.supply } : {}),
    });
    const start = await c.recorded();
    const summary = recordRun({ start, outcome, instances: instances.filter((x) => c.results.has(x.id)), suite: suite.name, startedAt, interrupted: options.signal?.aborted ?? false });
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
