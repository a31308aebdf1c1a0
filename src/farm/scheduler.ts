import { existsSync, renameSync } from 'node:fs';
import path from 'node:path';
import type { Verdict } from '../analyze/types.js';
import { realClock, type Clock } from './clock.js';
import { decideAfterHostLoss, finishAttempt, startAttempt, type Attempt } from './requeue.js';
import type { Host } from '../transport/index.js';
import type { Batch } from '../plan/types.js';
import type { GuestRun } from '../qemu/types.js';
import type { InstanceResult } from '../report/types.js';
import { INSTANCE_FILES, RUN_FILES } from '../rundir/layout.js';
import type { ScenarioInstance } from '../scenarios/types.js';
import type { Fleet } from './fleet.js';
import type { Member } from './member.js';
import type { ProgressCounter } from './progress.js';
import type { RemoteLog } from './remote-log.js';
import { notRun, type PlacedInstance } from './run-guest-on.js';
import type { RemoteBatchReport } from './types.js';
import type { WorkQueue } from './work-queue.js';
import { decideAfterInfraFault, faultStaysWithHost, recordInfraFault } from './infra-fault.js';

/** What running work on a host takes, one step each: qemu over ssh in a run, fakes in a unit test. */
export interface GuestSteps {
  /** Points each instance of a batch at the host: its kernels, console, accelerator. */
  place(member: Member, batch: Batch): Promise<Map<string, PlacedInstance>>;
  /** Runs one guest; resolves with one GuestRun whatever happened. `onExit` the moment qemu has ended. */
  run(guest: { instance: string; member: Member; host: Host; placed: PlacedInstance; onExit: () => void }): Promise<GuestRun>;
  /** Judges an ended guest from its console (and writes the verdict files). */
  judge(guest: GuestRun, placed: PlacedInstance): Promise<Verdict>;
}

export interface SchedulerInput {
  /** Read for its members; asked to record batch starts and ends; heard through its events. */
  fleet: Fleet;
  queue: WorkQueue;
  results: Map<string, InstanceResult>;
  runDir: string;
  /** `--retries`: reruns of an instance after losing its host. */
  retries: number;
  steps: GuestSteps;
  log: RemoteLog;
  progress: ProgressCounter;
  clock?: Clock;
  signal?: AbortSignal;
}

/**
 * What runs where, decided in one place: whenever a host is ready and idle it takes
 * its next batch from the run's one queue, packed by its own CPU count, and starts it
 * at once (event-driven, no polling). That gives work stealing, lets late and
 * rejoining hosts take work, and requeues a lost host's instances to run anywhere.
 * Hears about hosts only through the fleet's events; `done` resolves once every
 * instance has its verdict.
 */
export class Scheduler {
  /** Batches in the order they started, numbered across the run. */
  readonly batches: Batch[] = [];
  /** Every attempt of every instance: where it ran and how it ended. */
  ledger: Attempt[] = [];
  /** Each host's batches, timed from the start of the run. */
  readonly hostBatches = new Map<string, RemoteBatchReport[]>();
  readonly done: Promise<void>;
  /** Judgements still being written. */
  readonly judging = new Set<Promise<void>>();
  private started = false;
  private finished = false;
  private epoch = 0;
  private finish!: () => void;
  private readonly stopFile: string;
  private readonly clock: Clock;
  /** Host name → the batch it is running: a host has no room until its batch's last qemu exits. */
  private readonly running = new Map<string, number>();
  /** Hosts that take no more work this run, and why: a fault that stays with the host (disk full, qemu missing). */
  private readonly benched = new Map<string, string>();

  constructor(private readonly input: SchedulerInput) {
    this.done = new Promise((resolve) => (this.finish = resolve));
    this.stopFile = path.join(input.runDir, RUN_FILES.stop);
    this.clock = input.clock ?? realClock;
    // A host that became ready or failed changes who may take what (the widest host, hosts to avoid): look again.
    input.fleet.on('ready', () => this.dispatchAll());
    input.fleet.on('rejoined', () => this.dispatchAll());
    input.fleet.on('failed', () => this.dispatchAll());
    input.fleet.on('lost', (m) => this.hostLost(m));
  }

  /** The quorum is met: hand out work to every ready host. */
  start(): void {
    this.started = true;
    this.epoch = this.clock.now();
    this.dispatchAll();
  }

  /** Interrupt: nothing more starts; running guests are stopped by the abort signal and still judged. */
  interrupt(): void {
    this.giveUpPending('the run was interrupted');
  }

  /** Instances still without a verdict when the run ends some other way. */
  giveUpPending(why: string): void {
    for (const p of this.input.queue.drain()) notRun(this.result(p.instance.id), why);
    this.checkEnd();
  }

  private dispatchAll(): void {
    for (const m of this.input.fleet.members) this.dispatch(m);
    this.checkEnd();
  }

  /** A host was lost while in use: its running instances go back on the queue, or are given up on. */
  private hostLost(m: Member): void {
    const lostAt = this.clock.now();
    this.running.delete(m.name);
    const decision = decideAfterHostLoss(this.ledger, m.name, this.input.retries);
    this.ledger = decision.ledger;
    for (const r of decision.requeue) {
      this.keepLostConsole(r.instance, r.lost.console);
      this.input.queue.add(this.instanceOf(r.instance), r.avoidHosts);
      this.input.log.event(m.name, `requeued ${r.instance} (attempt ${r.attempt}) ${this.clock.now() - lostAt} ms after the loss was noticed; partial console kept as ${r.lost.console}`);
    }
    for (const g of decision.giveUp) {
      this.keepLostConsole(g.instance, g.lost.console);
      this.result(g.instance).verdict = g.verdict;
      this.input.progress.judged();
      this.input.log.event(m.name, `${g.instance}: infra-error (${g.verdict.reasons.join('; ')})`);
    }
    if (this.input.signal?.aborted) this.interrupt();
    this.dispatchAll();
  }

  private dispatch(m: Member): void {
    if (!this.started || this.finished || this.running.has(m.name) || this.benched.has(m.name) || m.machine.state !== 'ready' || !m.host || !m.probe) return;
    if (this.input.signal?.aborted) return;
    if (existsSync(this.stopFile)) {
      this.giveUpPending('STOP file');
      return;
    }
    const usable = this.input.fleet.members.filter((o) => o.machine.usable && o.probe && !this.benched.has(o.name));
    const instances = this.input.queue.take({
      host: m.name,
      cpus: m.probe.cpus,
      widestCpus: Math.max(...usable.map((o) => o.probe!.cpus)),
      othersUsable: usable.some((o) => o !== m),
    });
    if (instances.length === 0) return;
    void this.runBatch(m, m.host, instances);
  }

  private async runBatch(m: Member, host: Host, instances: ScenarioInstance[]): Promise<void> {
    const cpus = instances.reduce((n, x) => n + x.cpus, 0);
    const batch: Batch = { number: this.batches.length + 1, instances, cpus, overflow: cpus > m.probe!.cpus };
    this.batches.push(batch);
    const attempts = new Map<string, number>();
    for (const x of instances) {
      this.result(x.id).batch = batch.number;
      const { ledger, attempt } = startAttempt(this.ledger, x.id, m.name);
      this.ledger = ledger;
      attempts.set(x.id, attempt.attempt);
    }
    const ids = instances.map((x) => x.id);
    this.running.set(m.name, batch.number);
    this.input.fleet.batchStarted(m, `batch ${batch.number} started: ${ids.join(' ')}`);
    this.input.progress.batchStarted(m.name);
    const startedMs = this.clock.now() - this.epoch;
    const placed = await this.input.steps.place(m, batch);
    // The batch is over when its last qemu has exited; fetching consoles and judging go on beside the next batch.
    await Promise.all(instances.map((x) => new Promise<void>((exited) => {
      const where = placed.get(x.id)!;
      const judged = this.input.steps.run({ instance: x.id, member: m, host, placed: where, onExit: exited })
        .finally(exited)
        .then((guest) => this.guestEnded(m, host, attempts.get(x.id)!, guest, where));
      this.judging.add(judged);
      void judged.finally(() => this.judging.delete(judged));
    })));
    const endedMs = this.clock.now() - this.epoch;
    const reports = this.hostBatches.get(m.name) ?? [];
    reports.push({ number: batch.number, instances: ids, startedMs, endedMs });
    this.hostBatches.set(m.name, reports);
    this.input.progress.batchEnded(m.name);
    // A host lost meanwhile may be running a newer batch on its new connection: that one keeps it busy.
    if (this.running.get(m.name) === batch.number) this.running.delete(m.name);
    if (this.input.fleet.batchEnded(m, host, `batch ${batch.number} ended after ${((endedMs - startedMs) / 1000).toFixed(1)} s`)) this.dispatch(m);
    this.checkEnd();
  }

  private async guestEnded(m: Member, host: Host, attempt: number, guest: GuestRun, placed: PlacedInstance): Promise<void> {
    if (guest.startError) await this.input.fleet.lossRecorded(m, host);
    const entry = this.ledger.find((a) => a.instance === guest.instance && a.attempt === attempt);
    // Lost with its host: requeued or given up on already; this attempt's files are not judged.
    if (entry?.outcome === 'lost') return;
    if (guest.infraFault) return this.infraFaulted(m, attempt, guest);
    this.ledger = finishAttempt(this.ledger, guest.instance, attempt);
    const result = this.result(guest.instance);
    result.guest = guest;
    result.host = guest.host;
    this.input.log.event(m.name, `collected ${guest.instance} (${(guest.durationMs / 1000).toFixed(1)} s, exit ${guest.exitCode ?? guest.signal ?? 'none'})`, true);
    const verdict = await this.input.steps.judge(guest, placed);
    result.verdict = verdict;
    this.input.progress.judged();
    this.input.log.event(m.name, `${guest.instance}: ${verdict.kind}${verdict.reasons.length ? ` (${verdict.reasons.join('; ')})` : ''}`);
    this.checkEnd();
  }

  /** Ends the run once every instance has a verdict, or when no host is left to run what is queued. */
  private checkEnd(): void {
    if (this.finished || !this.started) return;
    const members = this.input.fleet.members;
    const hopeful = members.some((m) => !this.benched.has(m.name) && m.machine.state !== 'failed' && m.machine.state !== 'done');
    if (!hopeful && this.input.queue.size > 0) {
      const why = members.map((m) => `${m.name}: ${this.benched.get(m.name) ?? m.machine.lastFailure?.reason ?? m.machine.state}`).join('; ');
      for (const p of this.input.queue.drain()) notRun(this.result(p.instance.id), `no host left to run it (${why})`);
    }
    if ([...this.input.results.values()].every((r) => r.verdict)) {
      this.finished = true;
      this.finish();
    }
  }

  /** The guest met a fault of its host: it is not judged; the instance runs again elsewhere, or is given up on. */
  private infraFaulted(m: Member, attempt: number, guest: GuestRun): void {
    const fault = guest.infraFault!;
    const d = decideAfterInfraFault(this.ledger, guest.instance, attempt, m.name, fault, this.input.retries);
    this.ledger = d.ledger;
    const result = this.result(guest.instance);
    recordInfraFault(result, m.name, attempt, fault, d.requeue !== undefined);
    this.keepLostConsole(guest.instance, d.console);
    if (faultStaysWithHost(fault) && !this.benched.has(m.name)) {
      const why = `${fault.kind}: ${fault.detail}`;
      this.benched.set(m.name, why);
      m.report.benched = why;
      this.input.log.event(m.name, `takes no more work this run: ${why}`);
    }
    if (d.requeue) {
      this.input.queue.add(this.instanceOf(guest.instance), d.requeue.avoidHosts);
      this.input.log.event(m.name, `${guest.instance}: ${fault.kind}, not judged (${fault.detail}); requeued (attempt ${d.requeue.attempt}), its console kept as ${d.console}`);
    } else {
      Object.assign(result, { guest, host: guest.host, verdict: d.giveUp! });
      this.input.progress.judged();
      this.input.log.event(m.name, `${guest.instance}: infra-error (${d.giveUp!.reasons.join('; ')})`);
    }
    this.dispatchAll();
  }

  private keepLostConsole(instance: string, name: string): void {
    const dir = path.join(this.input.runDir, instance);
    // The lost attempt's stream keeps writing into the renamed file until its channel closes.
    try {
      renameSync(path.join(dir, INSTANCE_FILES.consoleLog), path.join(dir, name));
    } catch {
      // It had written nothing yet.
    }
  }

  private result(id: string): InstanceResult {
    const r = this.input.results.get(id);
    if (!r) throw new Error(`instance ${id} is not in this run`);
    return r;
  }

  private instanceOf(id: string): ScenarioInstance {
    const batch = this.batches.find((b) => b.instances.some((x) => x.id === id));
    return batch!.instances.find((x) => x.id === id)!;
  }
}
