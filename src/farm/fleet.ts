import { EventEmitter } from 'node:events';
import type { Clock } from './clock.js';
import { createFleet, type HostState, type HostStateMachine } from './host-state.js';
import { isHostError, type Host } from '../transport/index.js';
import { afterConnectFailure, type ShipReport } from './bring-up.js';
import { backoffMs, connectionLost, newMember, onConnectionLost, type Member } from './member.js';
import { ProbeFailure, type HostProbe } from './probe-host.js';
import { describeLoginShell } from './probe-words.js';
import type { RemoteLog } from './remote-log.js';
import type { RemotePaths } from './remote-paths.js';

/** What the fleet does to a host, one step each: ssh and qemu in a run, fakes in a unit test. */
export interface FleetSteps {
  connect(name: string): Promise<Host>;
  /** Throws ProbeFailure when the host cannot run guests (a retry would not help). */
  probe(host: Host): Promise<HostProbe>;
  /**
   * Sends the kernels the host's store lacks. `begin` is told what is about to go as
   * sending starts; when it answers false (the host moved on) nothing is sent: null.
   */
  ship(host: Host, paths: RemotePaths, begin: (what: string) => boolean): Promise<ShipReport | null>;
  /** Kills whatever this run left running there; how many processes, null if unknown. */
  sweep(host: Host, tag: string): Promise<number | null>;
  /** The host's last step: stop what is left, remove the work directory unless `keep`. */
  cleanUp(member: Member, host: Host, keep: boolean): Promise<void>;
  /** The host's boot_id, read at every connect and reconnect; undefined when it cannot be read. */
  bootId?(host: Host): Promise<string | undefined>;
}

/**
 * What the fleet tells whoever hands out work. Plain events, after the fact: the
 * listener decides what to do about them and never calls back into bringing hosts up.
 */
export interface FleetEvents {
  /** A host is ready for the first time. */
  ready: [member: Member];
  /** A host lost earlier is connected, probed and ready again. */
  rejoined: [member: Member];
  /** A connection dropped while the host was in use; the fleet is already trying to get it back. */
  lost: [member: Member, why: string];
  /** A host is out of the run for good. */
  failed: [member: Member];
  /** A lost host answered again with another boot_id: every guest it had is gone. */
  rebooted: [member: Member];
}

export interface FleetOptions {
  hosts: readonly string[];
  steps: FleetSteps;
  log: RemoteLog;
  clock: Clock;
  /** Reconnect attempts for an unreachable or lost host before it is failed. */
  maxReconnects: number;
  /** Each host's work area; undefined for localhost (nothing to ship, nothing to remove). */
  pathsFor: (host: string) => RemotePaths | undefined;
  signal?: AbortSignal;
  /**
   * Asked when a lost host is back on the same boot: true when guests of this run
   * are still wanted there (they are re-attached to), so nothing is swept and the host
   * is not probed again.
   */
  keepGuests?: (m: Member) => boolean;
  /** Each host's run tag, when the run is resumed (the guests already on the hosts carry them). */
  tags?: ReadonlyMap<string, string>;
}

/** How long a guest that ended with its connection gone may wait for the host's loss to be recorded. */
const LOST_NOTICE_MS = 15_000;
const LOSS_RECORDED: readonly HostState[] = ['lost', 'failed', 'collecting', 'done'];

/**
 * The hosts of a run and the one owner of their state: it alone connects, probes,
 * ships, moves each host's state machine, notices losses, reconnects with backoff and
 * cleans up at the end. The scheduler asks it to record batch starts and ends (its
 * decisions) and hears about everything else through FleetEvents.
 */
export class Fleet extends EventEmitter<FleetEvents> {
  readonly members: readonly Member[];
  /** First "tarball ready" and last "kernels held" of the run, for the ship timing. */
  readonly shipTimes: { firstReady?: number; lastHeld?: number } = {};
  private closed = false;

  constructor(private readonly o: FleetOptions) {
    super();
    // Ready, running and ended batches are routine: in remote-log only; every other move is also said.
    const machines = createFleet(o.hosts, {
      clock: o.clock,
      sink: (line, t) => o.log.transition(line, t.host, `state ${t.to}: ${t.reason}`, t.to === 'running' || t.to === 'ready' || t.to === 'collecting'),
    });
    this.members = [...machines.keys()].map((name) => newMember(name, machines.get(name)!, o.pathsFor(name), o.tags?.get(name)));
  }

  get machines(): HostStateMachine[] {
    return this.members.map((m) => m.machine);
  }

  /** Starts bringing every host up; each moves on its own from here. */
  start(): void {
    for (const m of this.members) void this.up(m);
  }

  /** The scheduler started a batch there. */
  batchStarted(m: Member, reason: string): void {
    m.machine.transition('running', reason);
  }

  /** The scheduler's batch there ended; true when the host is ready for the next one (not lost or stopping meanwhile). */
  batchEnded(m: Member, host: Host, reason: string): boolean {
    if (m.host !== host || m.machine.state !== 'running') return false;
    m.machine.transition('ready', reason);
    return true;
  }

  /** Interrupt: hosts running guests are now stopping them (the abort signal ends the guests). */
  stopGuests(reason: string): void {
    for (const m of this.members) if (m.machine.state === 'running') m.machine.transition('stopping', reason);
  }

  /**
   * A guest ended because its connection dropped: the channel can close a moment
   * before the connection reports its loss. Waits (bounded) until the loss is recorded.
   */
  async lossRecorded(m: Member, host: Host): Promise<void> {
    if (m.host !== host || !connectionLost(host)) return;
    await m.machine.waitFor(LOSS_RECORDED, LOST_NOTICE_MS).catch(() => {});
  }

  /** No more reconnects: the run is over or ending. */
  close(): void {
    this.closed = true;
    for (const m of this.members) {
      if (m.retryTimer !== undefined) this.o.clock.clearTimeout(m.retryTimer);
      m.retryTimer = undefined;
    }
  }

  /**
   * Ends every host's part in the run: hosts still connected go through collecting
   * (cleaned up) to done; hosts never reached, lost or unreachable end failed with
   * their last reason; every connection is closed.
   */
  async finish(options: { keep: boolean; interrupted: boolean }): Promise<void> {
    this.close();
    await Promise.all(this.members.map(async (m) => {
      const state = m.machine.state;
      if (state === 'unreachable' || state === 'lost' || state === 'rejoining' || state === 'connecting') {
        m.machine.transition('failed', `the run ended while it was ${state}: ${m.machine.lastFailure?.reason ?? 'no reason recorded'}`, m.machine.lastFailure?.failure);
      } else if (state === 'probing') {
        m.machine.transition('done', `the run ended while it was ${state}`);
      } else if (state === 'ready' || state === 'running' || state === 'stopping' || state === 'shipping') {
        m.machine.transition('collecting', options.interrupted ? 'interrupted: stopping what is left and cleaning up' : 'the run is over: cleaning up');
      }
      if (m.machine.state !== 'collecting') return;
      if (m.host && m.paths) await this.o.steps.cleanUp(m, m.host, options.keep);
      // The connection can drop during the clean-up itself: then the host ends failed, with that reason.
      if (m.machine.state === 'collecting') m.machine.transition('done', options.keep && m.paths ? `kept ${m.paths.work}` : 'cleaned up');
      else if (m.machine.can('failed')) m.machine.transition('failed', `lost while cleaning up: ${m.machine.lastFailure?.reason ?? ''}`, 'lost');
    }));
    await Promise.all(this.members.map((m) => m.host?.close().catch(() => {})));
  }

  /** Brings a host up (again) and says how it went; a host that cannot be reached yet is tried later. */
  private async up(m: Member): Promise<void> {
    const rejoining = m.machine.state === 'rejoining';
    try {
      const state = await this.bringUp(m, rejoining);
      if (state === 'ready') this.emit(rejoining ? 'rejoined' : 'ready', m);
      else if (state === 'failed') this.emit('failed', m);
      else if (state === 'unreachable' || state === 'lost') this.retryLater(m);
    } catch (error) {
      // A host still coming up as the run ends finds its state machine closed: nothing to do.
      if (!this.closed) this.o.log.event(m.name, `bringing the host up stopped: ${(error as Error).message}`);
    }
  }

  /**
   * Takes a host from `connecting` (or `rejoining`) to `ready`: connect, probe, ship
   * every kernel it lacks. Each step's failure moves the host where it belongs
   * (unreachable, lost or failed) with the reason. Returns the state it ended in.
   */
  private async bringUp(m: Member, rejoining: boolean): Promise<HostState> {
    const { steps, log } = this.o;
    let host: Host;
    try {
      host = await steps.connect(m.name);
    } catch (error) {
      const next = afterConnectFailure(error, rejoining);
      m.machine.transition(next.to, next.reason, next.failure);
      return m.machine.state;
    }
    if (this.o.signal?.aborted || this.closed) {
      await host.close();
      return m.machine.state;
    }
    const previous = m.host;
    m.host = host;
    if (previous) void previous.close().catch(() => {});
    onConnectionLost(host, (why) => {
      if (m.host === host) this.hostLost(m, why);
    });
    m.retries = 0;
    const ms = (host as { connectMs?: number }).connectMs;
    const connectMs = ms === undefined ? '' : ` in ${ms} ms`;
    const before = m.bootId;
    const bootId = steps.bootId ? await steps.bootId(host).catch(() => undefined) : undefined;
    if (!stillMine(m, host, rejoining ? 'rejoining' : 'connecting')) return m.machine.state;
    if (bootId) m.bootId = bootId;
    const rebooted = rejoining && before !== undefined && bootId !== undefined && bootId !== before;
    if (rebooted) {
      log.event(m.name, `rebooted: boot_id ${before} is now ${bootId}; the guests it had are gone`);
      this.emit('rebooted', m);
    }
    if (rejoining && !rebooted && bootId !== undefined && this.o.keepGuests?.(m)) {
      // Same boot, guests still running there: follow them again at once, no sweep, no new probe.
      m.machine.transition('probing', `reconnected${connectMs}; same boot (${bootId}): its guests are still there`);
      m.machine.transition('ready', 're-attaching to its guests');
      return m.machine.state;
    }
    if (rejoining) {
      // Guests started before the loss may still run there: they would take CPUs the new batches are given.
      const killed = await steps.sweep(host, m.tag);
      if (!stillMine(m, host, 'rejoining')) return m.machine.state;
      m.machine.transition('probing', `reconnected${connectMs}; ${killed ?? 'unknown number of'} leftover process(es) of this run killed`);
    } else {
      m.machine.transition('probing', `connected${connectMs}`);
    }
    try {
      const probe = await steps.probe(host);
      if (!stillMine(m, host, 'probing')) return m.machine.state;
      m.probe = probe;
      log.event(m.name, `probed: ${probe.cpus} CPUs, ${probe.accel} (${probe.accelReason}), ${(probe.freeBytes / 2 ** 30).toFixed(1)} GiB free${m.paths ? ` in ${m.paths.root}` : ''}, ${probe.qemuVersion}`, true);
      const shell = describeLoginShell(probe.loginShell);
      if (shell) log.event(m.name, shell);
      if (m.paths) {
        const shipped = await steps.ship(host, m.paths, (what) => {
          if (!stillMine(m, host, 'probing')) return false;
          m.machine.transition('shipping', what);
          return true;
        });
        if (shipped) this.recordShipment(m, shipped);
      }
      if (!stillMine(m, host, m.paths ? 'shipping' : 'probing')) return m.machine.state;
      m.machine.transition('ready', `${probe.cpus} CPUs, ${probe.accel}`);
    } catch (error) {
      if (m.host !== host) return m.machine.state;
      if (error instanceof ProbeFailure) m.machine.transition('failed', error.message, 'probe');
      else if (isHostError(error) && m.machine.can('lost')) this.hostLost(m, error.message);
      else m.machine.transition('failed', (error as Error).message);
    }
    return m.machine.state;
  }

  private recordShipment(m: Member, s: ShipReport): void {
    m.report.shipMs = s.heldAt - s.readyAt;
    m.report.tarBytesShipped += s.tarBytes;
    m.report.blobBytesShipped += s.blobBytes;
    this.shipTimes.firstReady = Math.min(this.shipTimes.firstReady ?? s.readyAt, s.readyAt);
    this.shipTimes.lastHeld = Math.max(this.shipTimes.lastHeld ?? 0, s.heldAt);
    this.o.log.event(m.name, `shipped ${s.tarBytes} bytes (${s.blobBytes} of kernels, ${s.reused} kernel(s) already held) in ${((s.heldAt - s.beganAt) / 1000).toFixed(2)} s`);
  }

  private hostLost(m: Member, why: string): void {
    if (!m.machine.can('lost')) return;
    m.report.losses++;
    m.machine.transition('lost', why, 'lost');
    this.emit('lost', m, why);
    this.retryLater(m);
  }

  /** Another connection attempt after a backoff, within maxReconnects; then the host is failed. */
  private retryLater(m: Member): void {
    if (m.retryTimer !== undefined || this.closed || this.o.signal?.aborted) return;
    m.retries++;
    const max = this.o.maxReconnects;
    if (m.retries > max) {
      m.machine.transition('failed', `gave up after ${max} reconnect attempts; last: ${m.machine.lastFailure?.reason ?? m.machine.state}`, m.machine.lastFailure?.failure);
      this.emit('failed', m);
      return;
    }
    const delay = backoffMs(m.retries);
    this.o.log.event(m.name, `trying again in ${delay / 1000} s (attempt ${m.retries} of ${max})`, true);
    m.retryTimer = this.o.clock.setTimeout(() => {
      m.retryTimer = undefined;
      if (this.closed || this.o.signal?.aborted) return;
      m.machine.transition(m.machine.state === 'lost' ? 'rejoining' : 'connecting', `reconnect attempt ${m.retries}`);
      void this.up(m);
    }, delay);
  }
}

/** False when the host was lost (or the run moved it on) while a step was under way. */
function stillMine(m: Member, host: Host, state: HostState): boolean {
  return m.host === host && m.machine.state === state;
}
