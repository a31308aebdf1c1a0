import { rmSync } from 'node:fs';
import path from 'node:path';
import PQueue from 'p-queue';
import { SshHost, type Host } from '../hosts/index.js';
import { allBatches, planRun } from '../plan/plan.js';
import type { Batch } from '../plan/types.js';
import { countVerdicts, runExitCode } from '../report/totals.js';
import type { InstanceResult } from '../report/types.js';
import { writeReports } from '../report/write.js';
import { formatBatchesFile, formatScenariosFile, writeRunFile } from '../rundir/files.js';
import { RUN_FILES } from '../rundir/layout.js';
import { getSuite } from '../scenarios/suites.js';
import { KvmFarmError } from '../util/errors.js';
import { BlobIndex } from './blobs.js';
import { LOCALHOST, checkHostList, connectHost } from './connect-hosts.js';
import { notRun, runHostBatches, type PlacedInstance } from './host-batches.js';
import { HostTracker, RemoteLog } from './host-state.js';
import { placeOnHost } from './place.js';
import { probeHost, type HostProbe } from './probe-host.js';
import { ProgressCounter } from './progress.js';
import { DEFAULT_REMOTE_DIR, remotePaths, type RemotePaths } from './remote-paths.js';
import { listStore, ship, stageShipment } from './ship.js';
import { prepareRemoteRun } from './source.js';
import type { HostReport, RemoteOptions, RemoteSummary } from './types.js';

interface Member {
  name: string;
  host?: Host;
  probe?: HostProbe;
  paths?: RemotePaths;
  batches: Batch[];
  placed: Map<string, PlacedInstance>;
  report: HostReport;
}

/**
 * kvm-remote as a library call: kernels built here (or taken from an earlier run),
 * shipped to every host at once, batches run from a queue per host, each console
 * fetched and judged the moment its guest ends. Returns a kvm-run summary plus one
 * report per host; summary.json, junit.xml and remote-log are in the run directory.
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
  const remoteDir = options.remoteDir ?? DEFAULT_REMOTE_DIR;
  remotePaths(remoteDir, 'check');
  if (options.shipConcurrency !== undefined && !(Number.isInteger(options.shipConcurrency) && options.shipConcurrency >= 1)) {
    throw new KvmFarmError('KVMFARM_BAD_ARGUMENT', `--ship-concurrency ${options.shipConcurrency} must be a whole number of at least 1`);
  }

  const start = await prepareRemoteRun(options.source, say, options.signal);
  const { prepared } = start;
  const runDir = prepared.runDir;
  const runSay = prepared.say;
  const log = new RemoteLog(runDir, runSay);
  const tracker = new HostTracker(log);
  log.event('-', `kvm-remote ${options.hosts.join(' ')}: kernels from ${start.sourceRunDir}`);
  const members: Member[] = options.hosts.map((name) => ({
    name,
    batches: [],
    placed: new Map(),
    report: { name, state: 'connecting', failure: null, blobBytesShipped: 0, tarBytesShipped: 0, batches: [] },
  }));
  const paths = (m: Member) => (m.name === LOCALHOST ? undefined : remotePaths(remoteDir, path.basename(runDir)));
  const qemuBinary = [...prepared.commands.values()][0]!.argv[0]!;
  let cleaned = false;
  try {
    await Promise.all(members.map(async (m) => {
      tracker.add(m.name);
      try {
        m.host = await connectHost(m.name, connect);
        if (m.host instanceof SshHost) m.host.on('lost', (error) => tracker.fail(m.name, error.message));
        tracker.move(m.name, 'connected');
        m.probe = await probeHost(m.host, { qemuBinary, accel: options.accel ?? 'auto', remoteDir, ...(options.signal ? { signal: options.signal } : {}) });
        tracker.move(m.name, 'probed', `${m.probe.cpus} CPUs, ${m.probe.accel} (${m.probe.accelReason}), ${(m.probe.freeBytes / 2 ** 30).toFixed(1)} GiB free in ${remoteDir}, ${m.probe.qemuVersion}`);
        const p = paths(m);
        if (p) m.paths = p;
      } catch (error) {
        tracker.fail(m.name, (error as Error).message);
      }
    }));
    const usable = members.filter((m) => tracker.usable(m.name));
    if (usable.length === 0) {
      throw new KvmFarmError('KVMFARM_HOST_UNREACHABLE', `no host can run guests: ${members.map((m) => `${m.name}: ${tracker.failure(m.name)}`).join('; ')}`);
    }

    // Batches per host by that host's own CPU count, numbered across the run.
    // Sorted by name first: the same instances on the same hosts get the same plan, so a
    // rerun finds each kernel where it left it and ships nothing.
    const instances = prepared.batches.flatMap((b) => b.instances).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const plan = planRun(instances, usable.map((m) => ({ name: m.name, cpus: m.probe!.cpus })));
    let number = 0;
    for (const mp of plan.machines) {
      const m = usable.find((u) => u.name === mp.machine.name)!;
      m.batches = mp.batches.map((b) => ({ ...b, number: ++number }));
      for (const b of m.batches) for (const x of b.instances) prepared.results.get(x.id)!.batch = b.number;
    }
    const batches = usable.flatMap((m) => m.batches);
    writeRunFile(runDir, RUN_FILES.scenarios, formatScenariosFile(batches));
    writeRunFile(runDir, RUN_FILES.batches, formatBatchesFile(batches, usable.reduce((n, m) => n + m.probe!.cpus, 0)));
    writeRunFile(runDir, RUN_FILES.accel, `${usable[0]!.probe!.accel}\n${usable.map((m) => `${m.name}: ${m.probe!.accel} (${m.probe!.accelReason})`).join('\n')}\n`);
    for (const m of usable) for (const b of m.batches) log.event(m.name, `batch ${b.number} planned: ${b.instances.map((x) => x.id).join(' ')}`, true);

    // Place and stage every host's tarball first: shipping is timed from "tarball ready".
    const blobs = new BlobIndex();
    const staged = new Map<string, ReturnType<typeof stageShipment>>();
    for (const m of usable) {
      const { placed, shipment } = await placeOnHost({ runDir, batches: m.batches, commands: prepared.commands, accel: m.probe!.accel, ...(m.paths ? { paths: m.paths } : {}), blobs });
      m.placed = placed;
      // A host with no batch (more hosts than work) gets no tarball and simply stays idle.
      if (m.paths && m.host && m.batches.length > 0) staged.set(m.name, stageShipment(shipment, await listStore(m.host, m.paths)));
    }
    const tarballReady = Date.now();
    const shipQueue = new PQueue({ concurrency: options.shipConcurrency ?? Math.max(1, staged.size) });
    await Promise.all(usable.map((m) => {
      const stage = staged.get(m.name);
      if (!stage) {
        tracker.move(m.name, 'ready');
        return undefined;
      }
      return shipQueue.add(async () => {
        tracker.move(m.name, 'shipping');
        const began = Date.now();
        try {
          const { tarBytes } = await ship(m.host!, m.paths!, stage, { timeoutMs: options.shipTimeoutMs ?? 10 * 60_000, ...(options.signal ? { signal: options.signal } : {}) });
          m.report.shipMs = Date.now() - tarballReady;
          m.report.tarBytesShipped = tarBytes;
          m.report.blobBytesShipped = stage.blobBytes;
          log.event(m.name, `shipped ${tarBytes} bytes (${stage.blobBytes} of kernels, ${stage.reused} kernel(s) already held) in ${((Date.now() - began) / 1000).toFixed(2)} s`);
          tracker.move(m.name, 'ready');
        } catch (error) {
          tracker.fail(m.name, `shipping failed: ${(error as Error).message}`);
        } finally {
          rmSync(stage.dir, { recursive: true, force: true });
        }
      });
    }));
    const shipAllMs = Date.now() - tarballReady;

    const progress = new ProgressCounter(prepared.results.size, prepared.durationSeconds * 1000, () => tracker.all(), options.onProgress ?? (() => {}));
    for (const m of usable) progress.plan(m.name, m.batches.length);
    const epoch = Date.now();
    const judged: Promise<void>[] = [];
    const suite = getSuite(prepared.source.suite);
    await Promise.all(usable.map(async (m) => {
      m.report.batches = await runHostBatches({
        host: m.host!, local: m.name === LOCALHOST, batches: m.batches, placed: m.placed, results: prepared.results, runDir, suite,
        durationSeconds: prepared.durationSeconds, shutdownGraceSeconds: prepared.shutdownGraceSeconds, bootTimeoutSeconds: start.bootTimeoutSeconds,
        tracker, log, epoch, judged, progress, ...(options.signal ? { signal: options.signal } : {}),
      });
      if (tracker.usable(m.name)) tracker.move(m.name, 'done');
    }));
    await Promise.all(judged);
    const runMs = Date.now() - epoch;
    for (const result of prepared.results.values()) if (!result.verdict) notRun(result, 'its host failed before the run');

    const interrupted = options.signal?.aborted ?? false;
    const ordered = [...batches.flatMap((b) => b.instances.map((x) => prepared.results.get(x.id)!)),
      ...[...prepared.results.values()].filter((r) => !batches.some((b) => b.instances.some((x) => x.id === r.instance)))];
    const instances2: InstanceResult[] = [...ordered, ...start.buildFailures];
    const endedAt = new Date().toISOString();
    const summary: RemoteSummary = {
      runDir,
      suite: suite.name,
      startedAt: startedAt.toISOString(),
      endedAt,
      durationSeconds: prepared.durationSeconds,
      accel: usable[0]!.probe!.accel,
      accelReason: usable.map((m) => `${m.name}: ${m.probe!.accelReason}`).join('; '),
      buildonly: false,
      interrupted,
      instances: instances2,
      totals: countVerdicts(instances2),
      exitCode: runExitCode(instances2, interrupted),
      hosts: [],
      sourceRunDir: start.sourceRunDir,
      timings: { shipAllMs, runMs },
    };
    if (interrupted) writeRunFile(runDir, RUN_FILES.interrupted, `${endedAt}\n`);
    await cleanUp(members, tracker, log, options.keepRemote ?? false);
    cleaned = true;
    summary.hosts = members.map((m) => ({
      ...m.report,
      state: tracker.state(m.name),
      failure: tracker.failure(m.name),
      ...(m.probe ? { cpus: m.probe.cpus, accel: m.probe.accel, accelReason: m.probe.accelReason, freeBytes: m.probe.freeBytes } : {}),
    }));
    writeReports(summary);
    return summary;
  } finally {
    // A run that failed part-way still leaves no work directory behind.
    if (!cleaned) await cleanUp(members, tracker, log, options.keepRemote ?? false).catch(() => {});
    await Promise.all(members.map((m) => m.host?.close()));
  }
}

/** Removes each host's run directory (the kernel store stays for the next run) unless --keep-remote. */
async function cleanUp(members: Member[], tracker: HostTracker, log: RemoteLog, keep: boolean): Promise<void> {
  await Promise.all(members.map(async (m) => {
    if (!m.host || !m.paths) {
      if (tracker.state(m.name) === 'done' || tracker.state(m.name) === 'failed') tracker.move(m.name, 'cleaned');
      return;
    }
    if (keep) {
      log.event(m.name, `kept ${m.paths.work} (--keep-remote)`);
    } else {
      const rm = await m.host.run(['rm', '-rf', '--', m.paths.work, `${m.paths.root}/probe.img`], { timeoutMs: 60_000 }).catch((e: Error) => ({ exitCode: null, stderr: e.message }));
      log.event(m.name, rm.exitCode === 0 ? `removed ${m.paths.work}` : `could not remove ${m.paths.work}: ${rm.stderr.trim()}`, true);
    }
    if (tracker.state(m.name) === 'done' || tracker.state(m.name) === 'failed') tracker.move(m.name, 'cleaned');
  }));
}
