import { existsSync, renameSync } from 'node:fs';
import path from 'node:path';
import type { KernelBanner } from '../build/kernel-banner.js';
import { decideAfterHostLoss, finishAttempt, startAttempt, type Attempt } from '../fleet/requeue.js';
import { SshHost, type Host } from '../hosts/index.js';
import type { Batch } from '../plan/types.js';
import type { BuiltQemuCommand } from '../qemu/index.js';
import type { GuestRun } from '../qemu/types.js';
import type { InstanceResult } from '../report/types.js';
import { judgeGuest } from '../run/judge-instance.js';
import { INSTANCE_FILES } from '../rundir/layout.js';
import type { TortureSuite } from '../scenarios/suites.js';
import type { ScenarioInstance } from '../scenarios/types.js';
import type { BlobIndex } from './blobs.js';
import { LOCALHOST } from './connect-hosts.js';
import type { Member } from './member.js';
import { placeOnHost } from './place.js';
import type { ProgressCounter } from './progress.js';
import type { RemoteLog } from './remote-log.js';
import { notRun, runGuestOn } from './run-guest-on.js';
import type { WorkQueue } from './work-queue.js';

export interface SchedulerInput {
  members: Member[];
  queue: WorkQueue;
  results: Map<string, InstanceResult>;
  commands: Map<string, BuiltQemuCommand>;
  runDir: string;
  suite: TortureSuite;
  durationSeconds: number;
  shutdownGraceSeconds: number;
  bootTimeoutSeconds: number;
  /** `--retries`: reruns of an instance after losing its host. */
  retries: number;
  blobs: BlobIndex;
  log: RemoteLog;
  progress: ProgressCounter;
  /** Starts reconnecting a lost host (bounded backoff); the scheduler dispatches to it once it is ready again. */
  rejoin: (member: Member) => void;
  signal?: AbortSignal;
}

/** How long a guest that ended with its connection gone may wait for the host's `lost` to be told. */
const LOST_NOTICE_MS = 15_000;

/**
 * The run's one queue and its hosts: whenever a host is ready and idle it takes its
 * next batch, packed by its own CPU count, and starts it at once (event-driven, no
 * polling). That gives work stealing, lets late and rejoining hosts take work, and
 * lets instances requeued after a host loss run anywhere. `done` resolves once every
 * instance has its verdict.
 */
export class Scheduler {
  /** Batches in the order they started, numbered across the run. */
  readonly batches: Batch[] = [];
  ledger: Attempt[] = [];
  readonly done: Promise<void>;
  /** Judgements still being written. */
  readonly judging = new Set<Promise<void>>();
  private started = false;
  private finished = false;
  private epoch = 0;
  private finish!: () => void;
  private readonly stopFile: string;
  /** The kernel banner each instance's image carries, for the wrong-kernel check. */
  private readonly banners = new Map<string, KernelBanner>();

  constructor(private readonly input: SchedulerInput) {
    this.done = new Promise((resolve) => (this.finish = resolve));
    this.stopFile = path.join(input.runDir, 'STOP');
  }

  /** The quorum is met: hand out work to every ready host. */
  start(): void {
    this.started = true;
    this.epoch = Date.now();
    this.dispatchAll();
    this.checkEnd();
  }

  /** Something changed in the fleet (a host ready, failed, lost, or work requeued). */
  dispatchAll(): void {
    for (const m of this.input.members) this.dispatch(m);
    this.checkEnd();
  }

  /** Interrupt: nothing more starts; running guests are stopped by the abort signal and still judged. */
  interrupt(): void {
    for (const p of this.input.queue.drain()) notRun(this.result(p.instance.id), 'the run was interrupted');
    for (const m of this.input.members) {
      if (m.machine.state === 'running') m.machine.transition('stopping', 'interrupted: stopping its guests');
    }
    this.checkEnd();
  }

  /** A connection dropped while the host was in use: its running instances go back on the queue. */
  hostLost(m: Member, why: string): void {
    if (!m.machine.can('lost')) return;
    const lostAt = Date.now();
    m.machine.transition('lost', why, 'lost');
    m.busy = false;
    const decision = decideAfterHostLoss(this.ledger, m.name, this.input.retries);
    this.ledger = decision.ledger;
    for (const r of decision.requeue) {
      this.keepLostConsole(r.instance, r.lost.console);
      this.input.queue.add(this.instanceOf(r.instance), r.avoidHosts);
      this.input.log.event(m.name, `requeued ${r.instance} (attempt ${r.attempt}) ${Date.now() - lostAt} ms after the loss was noticed; partial console kept as ${r.lost.console}`);
    }
    for (const g of decision.giveUp) {
      this.keepLostConsole(g.instance, g.lost.console);
      this.result(g.instance).verdict = g.verdict;
      this.input.progress.judged();
      this.input.log.event(m.name, `${g.instance}: infra-error (${g.verdict.reasons.join('; ')})`);
    }
    if (this.input.signal?.aborted) this.interrupt();
    if (!this.finished) this.input.rejoin(m);
    this.dispatchAll();
  }

  /** Instances still without a verdict when the run ends some other way. */
  giveUpPending(why: string): void {
    for (const p of this.input.queue.drain()) notRun(this.result(p.instance.id), why);
    this.checkEnd();
  }

  private dispatch(m: Member): void {
    if (!this.started || this.finished || m.busy || m.machine.state !== 'ready' || !m.host || !m.probe) return;
    if (this.input.signal?.aborted) return;
    if (existsSync(this.stopFile)) {
      this.giveUpPending('STOP file');
      return;
    }
    const usable = this.input.members.filter((o) => o.machine.usable && o.probe);
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
    m.busy = true;
    m.machine.transition('running', `batch ${batch.number} started: ${ids.join(' ')}`);
    this.input.progress.batchStarted(m.name);
    const startedMs = Date.now() - this.epoch;
    const placed = await placeOnHost({
      runDir: this.input.runDir, batches: [batch], commands: this.input.commands, accel: m.probe!.accel, blobs: this.input.blobs, ...(m.paths ? { paths: m.paths } : {}),
    });
    for (const [id, p] of placed) if (p.banner) this.banners.set(id, p.banner);
    // The batch is over when its last qemu has exited; fetching consoles and judging go on beside the next batch.
    await Promise.all(instances.map((x) => new Promise<void>((exited) => {
      const judged = runGuestOn({
        instance: x.id, host, local: m.name === LOCALHOST, placed: placed.get(x.id)!, runDir: this.input.runDir, tag: m.tag,
        durationSeconds: this.input.durationSeconds, shutdownGraceSeconds: this.input.shutdownGraceSeconds, bootTimeoutSeconds: this.input.bootTimeoutSeconds,
        stopFile: this.stopFile, onExit: exited,
        onRefused: (refused) => this.input.log.event(m.name, `${x.id}: refused from the host's result tarball: ${refused.map((r) => `${r.path} (${r.reason})`).join(', ')}`),
        ...(this.input.signal ? { signal: this.input.signal } : {}),
      }).finally(exited).then((guest) => this.guestEnded(m, host, attempts.get(x.id)!, guest));
      this.judging.add(judged);
      void judged.finally(() => this.judging.delete(judged));
    })));
    const endedMs = Date.now() - this.epoch;
    m.report.batches.push({ number: batch.number, instances: ids, startedMs, endedMs });
    this.input.progress.batchEnded(m.name);
    if (m.host !== host) return;
    if (m.machine.state === 'running') {
      m.busy = false;
      m.machine.transition('ready', `batch ${batch.number} ended after ${((endedMs - startedMs) / 1000).toFixed(1)} s`);
      this.dispatch(m);
      this.checkEnd();
    } else if (m.machine.state === 'stopping') {
      m.busy = false;
      this.checkEnd();
    }
  }

  private async guestEnded(m: Member, host: Host, attempt: number, guest: GuestRun): Promise<void> {
    // The channel can close a moment before the connection reports its loss: give the loss a bounded chance to be told.
    if (guest.startError && host instanceof SshHost && host.lostError && m.host === host) {
      await m.machine.waitFor(['lost', 'failed', 'collecting', 'done'], LOST_NOTICE_MS).catch(() => {});
    }
    const entry = this.ledger.find((a) => a.instance === guest.instance && a.attempt === attempt);
    if (entry?.outcome === 'lost') return;
    this.ledger = finishAttempt(this.ledger, guest.instance, attempt);
    const result = this.result(guest.instance);
    result.guest = guest;
    result.host = guest.host;
    this.input.log.event(m.name, `collected ${guest.instance} (${(guest.durationMs / 1000).toFixed(1)} s, exit ${guest.exitCode ?? guest.signal ?? 'none'})`, true);
    const banner = this.banners.get(guest.instance);
    const verdict = await judgeGuest({
      dir: path.join(this.input.runDir, guest.instance), guest, suite: this.input.suite, durationSeconds: this.input.durationSeconds, ...(banner ? { banner } : {}),
    });
    result.verdict = verdict;
    this.input.progress.judged();
    this.input.log.event(m.name, `${guest.instance}: ${verdict.kind}${verdict.reasons.length ? ` (${verdict.reasons.join('; ')})` : ''}`);
    this.checkEnd();
  }

  /** Ends the run once every instance has a verdict, or when no host is left to run what is queued. */
  private checkEnd(): void {
    if (this.finished || !this.started) return;
    const hopeful = this.input.members.some((m) => m.machine.state !== 'failed' && m.machine.state !== 'done');
    if (!hopeful && this.input.queue.size > 0) {
      const why = this.input.members.map((m) => `${m.name}: ${m.machine.lastFailure?.reason ?? m.machine.state}`).join('; ');
      for (const p of this.input.queue.drain()) notRun(this.result(p.instance.id), `no host left to run it (${why})`);
    }
    if ([...this.input.results.values()].every((r) => r.verdict)) {
      this.finished = true;
      this.finish();
    }
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

