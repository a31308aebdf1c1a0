import PQueue from 'p-queue';
import { createFleet } from '../fleet/host-state.js';
import { describeHost, gatherMachines, type QuorumStart } from '../fleet/quorum.js';
import { annotateResult } from '../fleet/requeue.js';
import { resolveRemoteSettings } from '../options/resolve-remote.js';
import { firstFitDecreasing } from '../plan/pack.js';
import type { Batch } from '../plan/types.js';
import { countVerdicts, runExitCode } from '../report/totals.js';
import type { InstanceResult } from '../report/types.js';
import { writeReports } from '../report/write.js';
import { formatBatchesFile, formatScenariosFile, writeRunFile } from '../rundir/files.js';
import { RUN_FILES } from '../rundir/layout.js';
import { getSuite } from '../scenarios/suites.js';
import { KvmFarmError } from '../util/errors.js';
import { BlobIndex, type Blob } from './blobs.js';
import { bringUp, type BringUpContext } from './bring-up.js';
import { LOCALHOST, checkHostList } from './connect-hosts.js';
import { finishFleet } from './finish-fleet.js';
import { backoffMs, newMember, type Member } from './member.js';
import { ProgressCounter } from './progress.js';
import { RemoteLog } from './remote-log.js';
import { remotePaths } from './remote-paths.js';
import { notRun } from './run-guest-on.js';
import { Scheduler } from './scheduler.js';
import { prepareRemoteRun } from './source.js';
import type { RemoteOptions, RemoteSummary } from './types.js';
import { WorkQueue } from './work-queue.js';

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
  checkHostList(options.hosts, connect);
  const { remoteDir, retries, minHosts, gatherTimeoutMs, shipTimeoutMs } = resolveRemoteSettings(options);
  remotePaths(remoteDir, 'check');

  const start = await prepareRemoteRun(options.source, say, options.signal);
  const { prepared } = start;
  const runDir = prepared.runDir;
  const log = new RemoteLog(runDir, prepared.say);
  log.event('-', `kvm-remote ${options.hosts.join(' ')}: kernels from ${start.sourceRunDir}; --min-hosts ${minHosts}, --gather-timeout ${gatherTimeoutMs / 1000} s, --retries ${retries}`);
  // Ready, running and ended batches are routine: in remote-log only; every other move is also said.
  const machines = createFleet(options.hosts, {
    sink: (line, t) => log.transition(line, t.host, `state ${t.to}: ${t.reason}`, t.to === 'running' || t.to === 'ready' || t.to === 'collecting'),
  });
  const members: Member[] = options.hosts.map((name) => {
    const m = newMember(name, machines.get(name)!);
    if (name !== LOCALHOST) m.paths = remotePaths(remoteDir, runDir.split('/').pop()!);
    return m;
  });
  const qemuBinary = [...prepared.commands.values()][0]!.argv[0]!;
  const blobIndex = new BlobIndex();
  const instances = prepared.batches.flatMap((b) => b.instances).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const allBlobs = uniqueBlobs(instances.map((x) => blobIndex.ofCommand(prepared.commands.get(x.id)!)));
  allBlobs.catch(() => {});
  const queue = new WorkQueue(instances);
  const suite = getSuite(prepared.source.suite);
  const progress = new ProgressCounter(prepared.results.size, prepared.durationSeconds * 1000,
    () => members.map((m) => ({ name: m.name, state: m.machine.state })), options.onProgress ?? (() => {}),
    () => Math.ceil(queue.cpus / Math.max(1, ...members.map((m) => m.probe?.cpus ?? 1))));

  let over = false;
  const scheduler: Scheduler = new Scheduler({
    members, queue, results: prepared.results, commands: prepared.commands, runDir, suite, retries, blobs: blobIndex, log, progress,
    durationSeconds: prepared.durationSeconds, shutdownGraceSeconds: prepared.shutdownGraceSeconds, bootTimeoutSeconds: start.bootTimeoutSeconds,
    rejoin: (m) => retryLater(m),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const ctx: BringUpContext = {
    connect,
    probe: { qemuBinary, accel: options.accel ?? 'auto', remoteDir, ...(options.signal ? { signal: options.signal } : {}) },
    blobs: allBlobs,
    shipQueue: new PQueue({ concurrency: options.shipConcurrency ?? options.hosts.length }),
    shipTimeoutMs,
    log,
    onLost: (m, _host, why) => {
      m.report.losses++;
      scheduler.hostLost(m, why);
    },
    shipTimes: {},
    isOver: () => over,
    ...(options.signal ? { signal: options.signal } : {}),
  };

  /** Brings a host up (again); a host that cannot be reached yet is tried later, within MAX_RECONNECTS. */
  const up = async (m: Member): Promise<void> => {
    try {
      const state = await bringUp(m, ctx);
      if (state === 'unreachable' || state === 'lost') retryLater(m);
      scheduler.dispatchAll();
    } catch (error) {
      // A host still coming up as the run ends finds its state machine closed: nothing to do.
      if (!over) log.event(m.name, `bringing the host up stopped: ${(error as Error).message}`);
    }
  };
  const retryLater = (m: Member): void => {
    if (m.retryTimer || over || options.signal?.aborted) return;
    m.retries++;
    if (m.retries > MAX_RECONNECTS) {
      m.machine.transition('failed', `gave up after ${MAX_RECONNECTS} reconnect attempts; last: ${m.machine.lastFailure?.reason ?? m.machine.state}`, m.machine.lastFailure?.failure);
      scheduler.dispatchAll();
      return;
    }
    const delay = backoffMs(m.retries);
    log.event(m.name, `trying again in ${delay / 1000} s (attempt ${m.retries} of ${MAX_RECONNECTS})`, true);
    m.retryTimer = setTimeout(() => {
      m.retryTimer = undefined;
      if (over || options.signal?.aborted) return;
      m.machine.transition(m.machine.state === 'lost' ? 'rejoining' : 'connecting', `reconnect attempt ${m.retries}`);
      void up(m);
    }, delay);
  };

  const gather = gatherMachines([...machines.values()], { minHosts, gatherTimeoutMs });
  const onAbort = (): void => {
    gather.quorum.cancel(new KvmFarmError('KVMFARM_INTERRUPTED', 'interrupted while gathering hosts'));
    scheduler.interrupt();
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const epochs: { run?: number } = {};
  let quorum: RemoteSummary['quorum'];
  let failure: Error | undefined;
  try {
    if (options.signal?.aborted) onAbort();
    for (const m of members) void up(m);
    try {
      const started: QuorumStart = await gather.quorum.started;
      quorum = { minHosts, ready: started.ready, missing: started.missing, trigger: started.trigger, elapsedMs: started.elapsedMs };
      log.event('-', `quorum met (${started.trigger}) after ${(started.elapsedMs / 1000).toFixed(1)} s: ${started.ready.join(' ')} ready${started.missing.length ? `; missing: ${started.missing.map((x) => `${x.host} (${x.why})`).join(', ')}` : ''}`);
    } catch (error) {
      const interrupted = options.signal?.aborted ?? false;
      failure = interrupted ? undefined : (error as Error);
      quorum = { minHosts, ready: [...gather.quorum.readyHosts], missing: members.filter((m) => !gather.quorum.readyHosts.includes(m.name)).map((m) => ({ host: m.name, why: describeHost(m.machine) })), trigger: interrupted ? 'interrupted' : 'failed', elapsedMs: Date.now() - startedAt.getTime() };
      log.event('-', (error as Error).message);
      scheduler.giveUpPending(interrupted ? 'the run was interrupted' : `the quorum was not met: ${(error as Error).message}`);
      for (const r of prepared.results.values()) if (!r.verdict) notRun(r, interrupted ? 'the run was interrupted' : 'the quorum was not met');
    } finally {
      gather.stop();
    }
    if (!failure && !(options.signal?.aborted && quorum.trigger === 'interrupted')) {
      const ready = members.filter((m) => m.probe && quorum.ready.includes(m.name));
      writeRunFile(runDir, RUN_FILES.accel, `${ready[0]!.probe!.accel}\n${ready.map((m) => `${m.name}: ${m.probe!.accel} (${m.probe!.accelReason})`).join('\n')}\n`);
      epochs.run = Date.now();
      scheduler.start();
      await scheduler.done;
    }
    // Bounded: every guest has its own limits (duration, grace, kill wait, collect timeout).
    await Promise.all([...scheduler.judging]);
  } finally {
    over = true;
    options.signal?.removeEventListener('abort', onAbort);
    for (const m of members) clearTimeout(m.retryTimer);
    await finishFleet(members, log, { keep: options.keepRemote ?? false, interrupted: options.signal?.aborted ?? false });
  }

  const interrupted = options.signal?.aborted ?? false;
  const leftovers = [...prepared.results.values()].filter((r) => !scheduler.batches.some((b) => b.instances.some((x) => x.id === r.instance)));
  const never = writePlanFiles(runDir, scheduler.batches, instances.filter((x) => leftovers.some((r) => r.instance === x.id)), members);
  for (const b of never) for (const x of b.instances) prepared.results.get(x.id)!.batch = b.number;
  const ordered = [...prepared.results.values()].map((r) => annotateResult(r, scheduler.ledger));
  const all: InstanceResult[] = [...ordered, ...start.buildFailures];
  const endedAt = new Date().toISOString();
  const served = members.filter((m) => m.probe);
  const summary: RemoteSummary = {
    runDir,
    suite: suite.name,
    startedAt: startedAt.toISOString(),
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
    })),
    quorum: quorum!,
    sourceRunDir: start.sourceRunDir,
    timings: {
      shipAllMs: ctx.shipTimes.firstReady !== undefined && ctx.shipTimes.lastHeld !== undefined ? ctx.shipTimes.lastHeld - ctx.shipTimes.firstReady : 0,
      runMs: epochs.run === undefined ? 0 : Date.now() - epochs.run,
    },
  };
  if (interrupted) writeRunFile(runDir, RUN_FILES.interrupted, `${endedAt}\n`);
  writeReports(summary);
  if (failure) throw failure;
  return summary;
}

/** Each blob once, however many instances boot it. */
async function uniqueBlobs(lists: Promise<Map<string, Blob>>[]): Promise<Blob[]> {
  const byHash = new Map<string, Blob>();
  for (const found of await Promise.all(lists)) for (const blob of found.values()) byHash.set(blob.hash, blob);
  return [...byHash.values()];
}

/**
 * `scenarios` and `batches` as the run went: the batches in the order hosts took
 * them, then whatever never ran, packed for the widest host, so kvm-again and
 * kvm-recheck find every instance of an interrupted run.
 */
function writePlanFiles(runDir: string, ran: Batch[], never: Batch['instances'], members: Member[]): Batch[] {
  const widest = Math.max(1, ...members.map((m) => m.probe?.cpus ?? 0));
  const rest: Batch[] = firstFitDecreasing(never, widest).map((bin, i) => ({
    number: ran.length + i + 1, instances: bin.instances, cpus: widest - bin.free, overflow: bin.free < 0,
  }));
  const batches = [...ran, ...rest];
  writeRunFile(runDir, RUN_FILES.scenarios, formatScenariosFile(batches));
  writeRunFile(runDir, RUN_FILES.batches, formatBatchesFile(batches, members.reduce((n, m) => n + (m.probe?.cpus ?? 0), 0)));
  return rest;
}
