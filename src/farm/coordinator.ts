import { realClock, type Clock } from './clock.js';
import { describeHost, gatherMachines } from './quorum.js';
import type { Attempt } from './requeue.js';
import type { Batch } from '../plan/types.js';
import type { InstanceResult } from '../report/types.js';
import type { ScenarioInstance } from '../scenarios/types.js';
import { KvmFarmError } from '../util/errors.js';
import { Fleet, type FleetSteps } from './fleet.js';
import type { Member } from './member.js';
import { ProgressCounter, type RemoteProgress } from './progress.js';
import type { RemoteLog } from './remote-log.js';
import type { RemotePaths } from './remote-paths.js';
import { notRun } from './run-guest-on.js';
import { Scheduler, type BuildOffer, type GuestSteps } from './scheduler.js';
import type { RemoteBatchReport, RemoteSummary } from './types.js';
import { WorkQueue } from './work-queue.js';
import type { Journal } from './journal.js';
import type { ResumeSeed } from './scheduler.js';

export interface CoordinateInput {
  hosts: readonly string[];
  /** Every instance to run; each gets a verdict in `results`. */
  instances: readonly ScenarioInstance[];
  /** One record per instance, by id: the scheduler fills in batch, guest, host and verdict. */
  results: Map<string, InstanceResult>;
  runDir: string;
  minHosts: number;
  gatherTimeoutMs: number;
  retries: number;
  maxReconnects: number;
  keepRemote: boolean;
  pathsFor: (host: string) => RemotePaths | undefined;
  fleetSteps: FleetSteps;
  guestSteps: GuestSteps;
  log: RemoteLog;
  /** For the progress estimate: how long one batch runs before its pace is known. */
  durationMs: number;
  onProgress?: (progress: RemoteProgress) => void;
  clock?: Clock;
  signal?: AbortSignal;
  /** `--lost-grace`: a lost host's guests are waited for this long before they are rerun. Default 0 (rerun at once). */
  lostGraceMs?: number;
  /** The run directory's journal: every placement, end, judgement and loss. */
  journal?: Journal;
  /** A resumed run: where the dead coordinator left off. */
  resume?: ResumeSeed;
  /** Each host's run tag (a resumed run keeps the tags its guests carry). */
  tags?: ReadonlyMap<string, string>;
  /** Once minHosts are ready, wait this long for the rest (default gatherTimeoutMs). */
  countdownMs?: number;
  /** Kernels still being built while the run starts: their instances wait for them. */
  supply?: KernelSupply;
}

/** What the run hears from a build going on beside it (kernel-feed.ts). */
export interface KernelSupply {
  /** Instances whose kernel is not there yet, asked once as the queue is made. */
  held(): string[];
  builds?: BuildOffer;
  /** Called once, right after held(): from then on the supply tells the run what it builds. */
  connect(run: SupplyListener): void;
}

export interface SupplyListener {
  ready(ids: readonly string[]): void;
  /** Their results hold the build-failed verdict already. */
  failed(ids: readonly string[]): void;
  /** A host finished a build. */
  idle(host: string): void;
  /** A host runs a batch: no build starts there. */
  busy(host: string): boolean;
}

export interface CoordinateOutcome {
  members: readonly Member[];
  quorum: RemoteSummary['quorum'];
  /** Why the run could not start (the quorum was not met); results then say not run. */
  failure?: Error;
  batches: Batch[];
  ledger: Attempt[];
  hostBatches: Map<string, RemoteBatchReport[]>;
  shipTimes: { firstReady?: number; lastHeld?: number };
  /** From the start of the first batch until the last guest was judged; 0 when nothing ran. */
  runMs: number;
}

/**
 * The farm's run, composed: a fleet that owns the hosts, a quorum that says when to
 * start, a scheduler that owns what runs where. The fleet tells the scheduler what
 * happened to hosts through events; the scheduler asks the fleet to record its batches;
 * nothing calls back. Every instance ends with a verdict, also on interrupt or when
 * the quorum is not met; every host ends done or failed.
 */
export async function coordinate(input: CoordinateInput): Promise<CoordinateOutcome> {
  const clock = input.clock ?? realClock;
  const { signal, log } = input;
  const startedAt = clock.now();
  let waitingFor: (m: Member) => boolean = () => false;
  const fleet = new Fleet({
    hosts: input.hosts, steps: input.fleetSteps, log, clock, maxReconnects: input.maxReconnects, pathsFor: input.pathsFor, ...(signal ? { signal } : {}),
    keepGuests: (m) => waitingFor(m), ...(input.tags ? { tags: input.tags } : {}),
  });
  const members = fleet.members;
  const queue = new WorkQueue(input.instances, input.supply?.held() ?? []);
  const progress = new ProgressCounter(input.results.size, input.durationMs,
    () => members.map((m) => ({ name: m.name, state: m.machine.state })), input.onProgress ?? (() => {}),
    () => Math.ceil(queue.cpus / Math.max(1, ...members.map((m) => m.probe?.cpus ?? 1))), clock);
  const scheduler = new Scheduler({
    fleet, queue, results: input.results, runDir: input.runDir, retries: input.retries, steps: input.guestSteps, log, progress, clock, ...(signal ? { signal } : {}),
    ...(input.lostGraceMs ? { lostGraceMs: input.lostGraceMs } : {}), ...(input.journal ? { journal: input.journal } : {}), ...(input.resume ? { resume: input.resume } : {}),
    ...(input.supply?.builds ? { builds: input.supply.builds } : {}),
  });
  input.supply?.connect({
    ready: (ids) => scheduler.kernelsReady(ids), failed: (ids) => scheduler.kernelsFailed(ids),
    idle: (host) => scheduler.hostIdle(host), busy: (host) => scheduler.busy(host),
  });
  waitingFor = (m) => scheduler.waitingFor(m);
  const gather = gatherMachines(fleet.machines, { minHosts: input.minHosts, gatherTimeoutMs: input.gatherTimeoutMs, clock, ...(input.countdownMs !== undefined ? { countdownMs: input.countdownMs } : {}) });
  const onAbort = (): void => {
    gather.quorum.cancel(new KvmFarmError('KVMFARM_INTERRUPTED', 'interrupted while gathering hosts'));
    fleet.stopGuests('interrupted: stopping its guests');
    scheduler.interrupt();
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  let quorum: RemoteSummary['quorum'];
  let failure: Error | undefined;
  let runStart: number | undefined;
  let runMs = 0;
  try {
    if (signal?.aborted) onAbort();
    fleet.start();
    try {
      const started = await gather.quorum.started;
      quorum = { minHosts: input.minHosts, ready: started.ready, missing: started.missing, trigger: started.trigger, elapsedMs: started.elapsedMs };
      log.event('-', `quorum met (${started.trigger}) after ${(started.elapsedMs / 1000).toFixed(1)} s: ${started.ready.join(' ')} ready${started.missing.length ? `; missing: ${started.missing.map((x) => `${x.host} (${x.why})`).join(', ')}` : ''}`);
    } catch (error) {
      const interrupted = signal?.aborted ?? false;
      failure = interrupted ? undefined : (error as Error);
      const ready = [...gather.quorum.readyHosts];
      quorum = {
        minHosts: input.minHosts, ready, missing: members.filter((m) => !ready.includes(m.name)).map((m) => ({ host: m.name, why: describeHost(m.machine) })),
        trigger: interrupted ? 'interrupted' : 'failed', elapsedMs: clock.now() - startedAt,
      };
      log.event('-', (error as Error).message);
      const why = interrupted ? 'the run was interrupted' : 'the quorum was not met';
      scheduler.giveUpPending(interrupted ? why : `${why}: ${(error as Error).message}`);
      for (const r of input.results.values()) if (!r.verdict) notRun(r, why);
    } finally {
      gather.stop();
    }
    if (!failure && quorum.trigger !== 'interrupted') {
      runStart = clock.now();
      scheduler.start();
      await scheduler.done;
    }
    // Every instance has its verdict: a host lost from here on is not worth getting back.
    fleet.close();
    // Bounded: every guest has its own limits (duration, grace, kill wait, collect timeout).
    await Promise.all([...scheduler.judging]);
    if (runStart !== undefined) runMs = clock.now() - runStart;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await fleet.finish({ keep: input.keepRemote, interrupted: signal?.aborted ?? false });
  }
  return {
    members, quorum, ...(failure ? { failure } : {}), batches: scheduler.batches, ledger: scheduler.ledger,
    hostBatches: scheduler.hostBatches, shipTimes: fleet.shipTimes, runMs,
  };
}
