import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { formatRetval } from '../qemu/guest-end.js';
import path from 'node:path';
import type { Verdict } from '../analyze/types.js';
import { realClock, type Clock } from './clock.js';
import { decideAfterHostLoss, extraConsoleName, finishAttempt, startAttempt, type Attempt } from './requeue.js';
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
import type { Journal, JournalAttempt } from './journal.js';
import { connectionLost } from './member.js';
import { SETTING } from '../qemu/build-command.js';

/** What running work on a host takes, one step each: qemu over ssh in a run, fakes in a unit test. */
export interface GuestSteps {
  /** Points each instance of a batch at the host: its kernels, console, accelerator. */
  place(member: Member, batch: Batch, keep?: { attempts?: ReadonlyMap<string, number>; tokens?: ReadonlyMap<string, string> }): Promise<Map<string, PlacedInstance>>;
  /**
   * Runs one guest; resolves with one GuestRun whatever happened. `onExit` the moment qemu has ended.
   * `reattach` hands over a new connection to the same boot of the host when the old one drops (null: give up);
   * `follow` follows a guest started before the coordinator died instead of starting one.
   */
  run(guest: {
    instance: string; member: Member; host: Host; placed: PlacedInstance; onExit: () => void;
    reattach?: (from: Host) => Promise<Host | null>; follow?: { startedAt: number }; consoleAs?: () => string | undefined;
  }): Promise<GuestRun>;
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
  /** `--lost-grace`: how long a lost host's guests are waited for before they are rerun; 0 reruns at once. */
  lostGraceMs?: number;
  /** Where every placement, end, judgement and loss is written down as it happens. */
  journal?: Journal;
  /** A resumed run: the attempts and batches so far, and the guests to follow again on their hosts. */
  resume?: ResumeSeed;
  /** Kernels built on the farm: a host that has a build to do takes it before any batch. */
  builds?: BuildOffer;
}

/** The build farm as the scheduler sees it: builds and batches share the hosts, one job a host at a time. */
export interface BuildOffer {
  /** Starts the next waiting build on `host` if it builds; true when the host is building (it takes no batch now). */
  offer(host: string): boolean;
}

/** What a resumed scheduler starts from. */
export interface ResumeSeed {
  ledger: Attempt[];
  batches: Batch[];
  /** Attempts that were running (or ended unjudged) when the coordinator died, by host. */
  follow: JournalAttempt[];
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
  /** Lost hosts whose guests are being waited for (--lost-grace): host name → the timer that gives up on them. */
  private readonly graceTimers = new Map<string, unknown>();
  /** Guests whose console channel dropped, waiting for their host to come back: host name → their resolvers. */
  private readonly waiters = new Map<string, ((host: Host | null) => void)[]>();
  /** Resume: guests started by the dead coordinator, still to be followed, by host. */
  private readonly followed = new Map<string, JournalAttempt[]>();
  /** Lost hosts past the grace whose written-off guests are still followed should the host come back on the same boot. */
  private readonly late = new Set<string>();
  /** Attempts whose console is not console.log (lost, or extra): `instance#attempt` → file name in the instance directory. */
  private readonly consoleNames = new Map<string, string>();
  /** Instances being judged right now: a second attempt ending meanwhile is an extra one. */
  private readonly judgingNow = new Set<string>();

  constructor(private readonly input: SchedulerInput) {
    this.done = new Promise((resolve) => (this.finish = resolve));
    this.stopFile = path.join(input.runDir, RUN_FILES.stop);
    this.clock = input.clock ?? realClock;
    // A host that became ready or failed changes who may take what (the widest host, hosts to avoid): look again.
    input.fleet.on('ready', () => this.dispatchAll());
    input.fleet.on('rejoined', (m) => this.reattach(m));
    input.fleet.on('rejoined', () => this.dispatchAll());
    input.fleet.on('failed', (m) => this.abandon(m, 'failed'));
    input.fleet.on('failed', () => this.dispatchAll());
    input.fleet.on('lost', (m) => this.lost(m));
    input.fleet.on('rebooted', (m) => this.abandon(m, 'rebooted'));
    if (input.resume) {
      this.ledger = [...input.resume.ledger];
      this.batches.push(...input.resume.batches);
      for (const a of input.resume.follow) this.followed.set(a.host, [...(this.followed.get(a.host) ?? []), a]);
    }
  }

  /** Keep a lost host's guests (no sweep on its return) while they are being waited for. */
  waitingFor(m: Member): boolean {
    return this.graceTimers.has(m.name) || (this.late.has(m.name) && (this.waiters.get(m.name)?.length ?? 0) > 0);
  }

  /** The quorum is met: hand out work to every ready host. */
  start(): void {
    this.started = true;
    this.epoch = this.clock.now();
    this.dispatchAll();
  }

  /** Interrupt: nothing more starts; running guests are stopped by the abort signal and still judged. */
  interrupt(): void {
    for (const m of this.input.fleet.members) if (this.graceTimers.has(m.name)) this.giveUpOn(m);
    for (const name of [...this.waiters.keys()]) this.release(name, null);
    this.giveUpPending('the run was interrupted');
  }

  /**
   * A host was lost while in use. Within --lost-grace its guests run on there and are
   * waited for; past it (or with no grace) they are rerun as before.
   */
  private lost(m: Member): void {
    const grace = this.input.lostGraceMs ?? 0;
    const running = this.ledger.filter((a) => a.host === m.name && a.outcome === 'running').length;
    if (grace <= 0 || running === 0 || this.input.signal?.aborted) {
      this.hostLost(m);
      return;
    }
    if (this.graceTimers.has(m.name)) return;
    this.input.log.event(m.name, `lost with ${running} guest(s) running there: they run on; waiting up to ${grace / 1000} s (--lost-grace) for the host before rerunning them`);
    this.graceTimers.set(m.name, this.clock.setTimeout(() => {
      this.graceTimers.delete(m.name);
      this.input.log.event(m.name, `not back within --lost-grace (${grace / 1000} s): rerunning its ${running} instance(s); should the host come back on the same boot, the first guests are followed too and the first judged result counts`);
      this.hostLost(m);
      this.late.add(m.name);
    }, grace));
  }

  /** The host rebooted or is failed for good: its guests are gone, rerun them now without waiting out the grace. */
  private abandon(m: Member, why: 'rebooted' | 'failed'): void {
    if (this.late.delete(m.name)) this.release(m.name, null);
    const follow = this.followed.get(m.name);
    if (follow) {
      this.followed.delete(m.name);
      this.input.log.event(m.name, `${why === 'rebooted' ? 'rebooted' : 'failed'}: the ${follow.length} guest(s) the earlier coordinator left there are gone; rerunning them`);
      this.hostLost(m);
      return;
    }
    const running = this.ledger.filter((a) => a.host === m.name && a.outcome === 'running').length;
    if (!this.graceTimers.has(m.name) && !(why === 'rebooted' && running > 0)) return;
    if (why === 'rebooted') this.input.log.event(m.name, `rebooted: its ${running} guest(s) are gone; rerunning them now, without waiting out --lost-grace`);
    this.giveUpOn(m);
  }

  private giveUpOn(m: Member): void {
    const timer = this.graceTimers.get(m.name);
    if (timer !== undefined) this.clock.clearTimeout(timer);
    this.graceTimers.delete(m.name);
    this.hostLost(m);
    this.release(m.name, null);
  }

  /** A lost host is back on the same boot within the grace: its guests are followed on from where they were. */
  private reattach(m: Member): void {
    if (this.late.delete(m.name)) {
      this.input.log.event(m.name, `back on the same boot after --lost-grace: following its written-off guest(s) again beside their reruns; the first judged result counts`);
      this.release(m.name, m.host ?? null);
      return;
    }
    const timer = this.graceTimers.get(m.name);
    if (timer === undefined) return;
    this.clock.clearTimeout(timer);
    this.graceTimers.delete(m.name);
    const batch = this.running.get(m.name);
    this.input.log.event(m.name, `back on the same boot within --lost-grace: re-attaching to its guests${batch ? ` (batch ${batch})` : ''}; nothing is rerun`);
    if (batch !== undefined && m.machine.state === 'ready') this.input.fleet.batchStarted(m, `re-attached to batch ${batch}`);
    this.release(m.name, m.host ?? null);
  }

  private release(host: string, to: Host | null): void {
    const list = this.waiters.get(host) ?? [];
    this.waiters.delete(host);
    for (const resolve of list) resolve(to);
  }

  /**
   * A guest's console channel dropped: resolves with the connection to follow it on
   * (the same one if it is still up, the new one once the host is back on the same
   * boot), or null when the attempt is given up on.
   */
  private waitForHost(m: Member, from: Host, instance: string, attempt: number): Promise<Host | null> {
    const entry = (): Attempt | undefined => this.ledger.find((a) => a.instance === instance && a.attempt === attempt);
    if ((this.input.lostGraceMs ?? 0) <= 0 || this.input.signal?.aborted || entry()?.outcome !== 'running') return Promise.resolve(null);
    if (m.host && m.host !== from && !connectionLost(m.host) && (m.machine.state === 'running' || m.machine.state === 'ready') && !this.graceTimers.has(m.name)) return Promise.resolve(m.host);
    if (m.host === from && !connectionLost(from)) {
      // The channel failed on a connection that is still up: open it again after a breath.
      return new Promise((resolve) => this.clock.setTimeout(() => resolve(from), 1000));
    }
    return new Promise((resolve) => {
      let settled = false;
      const once = (host: Host | null): void => {
        if (settled) return;
        settled = true;
        this.clock.clearTimeout(safety);
        resolve(host);
      };
      // Bounded even if the fleet never reports this loss: the grace plus the time a loss takes to be noticed.
      // A written-off guest (past the grace) waits on for its host: the host's return, reboot or failure, or the run's end, settles it.
      const safety = this.clock.setTimeout(() => this.late.has(m.name) || once(null), (this.input.lostGraceMs ?? 0) + 30_000);
      this.waiters.set(m.name, [...(this.waiters.get(m.name) ?? []), once]);
    });
  }

  /** True while `host` runs a batch: the build farm starts no build there. */
  busy(host: string): boolean {
    return this.running.has(host);
  }

  /** Their kernels are built: the instances may run. */
  kernelsReady(ids: readonly string[]): void {
    for (const id of ids) this.input.queue.release(id);
    this.dispatchAll();
  }

  /** Their kernels failed to build: their results hold the build-failed verdict; nothing runs them. */
  kernelsFailed(ids: readonly string[]): void {
    for (const id of ids) if (this.input.queue.remove(id)) this.input.progress.judged();
    this.checkEnd();
  }

  /** A host finished a build: it takes its next job. */
  hostIdle(host: string): void {
    const m = this.input.fleet.members.find((x) => x.name === host);
    if (m) this.dispatch(m);
    this.checkEnd();
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
    for (const a of decision.ledger) {
      if (a.host === m.name && a.outcome === 'lost' && this.ledger.find((b) => b.instance === a.instance && b.attempt === a.attempt)?.outcome === 'running') {
        this.input.journal?.write({ t: 'lost', instance: a.instance, attempt: a.attempt, host: m.name });
      }
    }
    this.ledger = decision.ledger;
    for (const r of decision.requeue) {
      this.keepLostConsole(r.instance, r.lost.console);
      this.consoleNames.set(`${r.instance}#${r.lost.attempt}`, r.lost.console);
      this.input.queue.add(this.instanceOf(r.instance), r.avoidHosts);
      this.input.log.event(m.name, `requeued ${r.instance} (attempt ${r.attempt}) ${this.clock.now() - lostAt} ms after the loss was noticed; partial console kept as ${r.lost.console}`);
    }
    for (const g of decision.giveUp) {
      this.keepLostConsole(g.instance, g.lost.console);
      this.result(g.instance).verdict = g.verdict;
      this.input.journal?.write({ t: 'judged', instance: g.instance, attempt: g.lost.attempt, host: m.name, verdict: g.verdict.kind });
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
    const follow = this.followed.get(m.name);
    if (follow) {
      this.followed.delete(m.name);
      if (follow.every((a) => a.bootId !== undefined && a.bootId === m.bootId)) {
        this.input.log.event(m.name, `same boot as when the earlier coordinator stopped: following its ${follow.length} guest(s) there again`);
        void this.runBatch(m, m.host, follow.map((a) => this.instanceOf(a.instance)), new Map(follow.map((a) => [a.instance, a])));
        return;
      }
      this.input.log.event(m.name, `rebooted since the earlier coordinator stopped (boot_id ${m.bootId ?? 'unknown'}): its ${follow.length} guest(s) are gone; rerunning them`);
      this.hostLost(m);
      return;
    }
    if (this.input.builds?.offer(m.name)) return;
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

  private async runBatch(m: Member, host: Host, instances: ScenarioInstance[], follow?: ReadonlyMap<string, JournalAttempt>): Promise<void> {
    const cpus = instances.reduce((n, x) => n + x.cpus, 0);
    // A followed batch was started by the earlier coordinator: it keeps its number and its attempts.
    const batch: Batch = { number: follow ? this.result(instances[0]!.id).batch : this.batches.length + 1, instances, cpus, overflow: cpus > m.probe!.cpus };
    if (!follow) this.batches.push(batch);
    const attempts = new Map<string, number>();
    for (const x of instances) {
      const kept = follow?.get(x.id);
      if (kept) {
        attempts.set(x.id, kept.attempt);
        continue;
      }
      this.result(x.id).batch = batch.number;
      const { ledger, attempt } = startAttempt(this.ledger, x.id, m.name);
      this.ledger = ledger;
      attempts.set(x.id, attempt.attempt);
    }
    const ids = instances.map((x) => x.id);
    this.running.set(m.name, batch.number);
    this.input.fleet.batchStarted(m, `batch ${batch.number} ${follow ? 'followed again' : 'started'}: ${ids.join(' ')}`);
    this.input.progress.batchStarted(m.name);
    const startedMs = this.clock.now() - this.epoch;
    const tokens = follow ? new Map([...follow.values()].map((a) => [a.instance, a.token])) : undefined;
    const placed = await this.input.steps.place(m, batch, { attempts, ...(tokens ? { tokens } : {}) });
    if (!follow && this.input.journal) {
      this.input.journal.write({ t: 'batch', number: batch.number, host: m.name, instances: ids });
      for (const x of instances) {
        const token = placed.get(x.id)?.command.settings[SETTING.token] ?? '';
        this.input.journal.write({ t: 'placed', instance: x.id, attempt: attempts.get(x.id)!, host: m.name, token, ...(m.bootId ? { bootId: m.bootId } : {}) });
      }
    }
    // The batch is over when its last qemu has exited; fetching consoles and judging go on beside the next batch.
    await Promise.all(instances.map((x) => new Promise<void>((exited) => {
      const where = placed.get(x.id)!;
      const attempt = attempts.get(x.id)!;
      const kept = follow?.get(x.id);
      const judged = this.input.steps.run({
        instance: x.id, member: m, host, placed: where, onExit: exited,
        reattach: (from) => this.waitForHost(m, from, x.id, attempt),
        ...(kept ? { follow: { startedAt: kept.placedAt } } : {}),
        consoleAs: () => this.consoleNames.get(`${x.id}#${attempt}`),
      })
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
    // A batch re-attached to after a loss ends on the host's new connection.
    const mine = this.running.get(m.name) === batch.number;
    if (mine) this.running.delete(m.name);
    if (this.input.fleet.batchEnded(m, mine ? (m.host ?? host) : host, `batch ${batch.number} ended after ${((endedMs - startedMs) / 1000).toFixed(1)} s`)) this.dispatch(m);
    this.checkEnd();
  }

  private async guestEnded(m: Member, host: Host, attempt: number, guest: GuestRun, placed: PlacedInstance): Promise<void> {
    if (guest.startError) await this.input.fleet.lossRecorded(m, host);
    const entry = this.ledger.find((a) => a.instance === guest.instance && a.attempt === attempt);
    const late = entry?.outcome === 'lost';
    // Lost with its host and never back: requeued or given up on already; this attempt's files are not judged.
    if (late && guest.startError) return;
    const id = guest.instance;
    if (guest.infraFault) {
      // A fault of the host is never a result: not for an instance judged already, nor for a written-off guest.
      if (late || this.result(id).verdict || this.judgingNow.has(id)) {
        if (!late) this.ledger = finishAttempt(this.ledger, id, attempt);
        return;
      }
      return this.infraFaulted(m, attempt, guest);
    }
    // Another attempt was judged (or is being judged) first: this one is kept and reported, not judged.
    if (this.result(id).verdict || this.judgingNow.has(id)) {
      this.recordExtra(m, attempt, guest, late);
      return;
    }
    // A written-off guest came back and finished before its rerun: it counts, the rerun becomes the extra attempt.
    if (late) this.countLate(m, id, attempt, guest);
    this.judgingNow.add(id);
    try {
      await this.judgeEnded(m, attempt, guest, placed);
    } finally {
      this.judgingNow.delete(id);
    }
  }

  private async judgeEnded(m: Member, attempt: number, guest: GuestRun, placed: PlacedInstance): Promise<void> {
    this.ledger = finishAttempt(this.ledger, guest.instance, attempt);
    this.input.journal?.write({ t: 'ended', instance: guest.instance, attempt, host: m.name });
    const result = this.result(guest.instance);
    result.guest = guest;
    result.host = guest.host;
    this.input.log.event(m.name, `collected ${guest.instance} (${(guest.durationMs / 1000).toFixed(1)} s, exit ${guest.exitCode ?? guest.signal ?? 'none'})`, true);
    const verdict = await this.input.steps.judge(guest, placed);
    result.verdict = verdict;
    this.input.journal?.write({ t: 'judged', instance: guest.instance, attempt, host: m.name, verdict: verdict.kind });
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
      // Written-off guests still waited for are not needed any more.
      this.late.clear();
      for (const name of [...this.waiters.keys()]) this.release(name, null);
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

  /** The first judged result counts; a later attempt that also ran to its end is kept beside it and reported. */
  private recordExtra(m: Member, attempt: number, guest: GuestRun, late: boolean): void {
    const id = guest.instance;
    const dir = path.join(this.input.runDir, id);
    const kept = extraConsoleName(m.name, attempt);
    const now = this.consoleNames.get(`${id}#${attempt}`);
    if (now && now !== kept) {
      try {
        renameSync(path.join(dir, now), path.join(dir, kept));
      } catch {
        // Nothing was collected under that name.
      }
    }
    this.consoleNames.set(`${id}#${attempt}`, kept);
    // It ran to its end: not lost after all, so no "rerun after host loss" for it.
    if (late) this.ledger = this.ledger.map((a) => (a.instance === id && a.attempt === attempt ? { ...a, outcome: 'finished' } : a));
    else this.ledger = finishAttempt(this.ledger, id, attempt);
    const how = guest.exitCode ?? guest.signal ?? 'none';
    this.result(id).warnings.push(`extra attempt ${attempt} on ${m.name} also ran to its end (exit ${how}); the first judged result counts; its console is kept as ${kept}`);
    this.input.journal?.write({ t: 'extra', instance: id, attempt, host: m.name });
    this.input.log.event(m.name, `${id}: attempt ${attempt} also ended (exit ${how}); kept as an extra attempt (${kept}), not judged: the first judged result counts`);
  }

  /** The late attempt's whole console becomes console.log; the rerun still running streams on into its extra name. */
  private countLate(m: Member, id: string, attempt: number, guest: GuestRun): void {
    const dir = path.join(this.input.runDir, id);
    // Its rerun may not have started yet: then it never does.
    this.input.queue.remove(id);
    for (const a of this.ledger.filter((x) => x.instance === id && x.outcome === 'running')) {
      const extra = extraConsoleName(a.host, a.attempt);
      this.consoleNames.set(`${id}#${a.attempt}`, extra);
      try {
        renameSync(path.join(dir, INSTANCE_FILES.consoleLog), path.join(dir, extra));
      } catch {
        // The rerun had written nothing yet.
      }
    }
    const collected = this.consoleNames.get(`${id}#${attempt}`);
    if (collected) {
      try {
        renameSync(path.join(dir, collected), path.join(dir, INSTANCE_FILES.consoleLog));
      } catch {
        // Nothing came home under that name: judged on what there is (a missing console says so).
      }
    }
    this.consoleNames.delete(`${id}#${attempt}`);
    try {
      writeFileSync(path.join(dir, INSTANCE_FILES.qemuRetval), `${formatRetval(guest.exitCode, guest.signal)}\n`);
    } catch {
      // No instance directory (a test's fake guests): nothing to record it in.
    }
    this.ledger = this.ledger.map((a) => (a.instance === id && a.attempt === attempt ? { ...a, outcome: 'running' } : a));
    this.input.log.event(m.name, `${id}: its first guest (attempt ${attempt}) came back and ended before its rerun: it is judged; the rerun is kept as an extra attempt`);
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
