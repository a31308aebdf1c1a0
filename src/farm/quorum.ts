import { KvmFarmError } from '../util/errors.js';
import { realClock, type Clock } from './clock.js';
import { oneLine } from '../util/printable.js';
import type { FleetFailureReason, HostStateMachine, Transition } from './host-state.js';

export interface QuorumOptions {
  /** Every host listed for the run. */
  hosts: readonly string[];
  /** `--min-hosts`: how many must be ready to start; all of them when absent. */
  minHosts?: number;
  /** `--gather-timeout`: the countdown once the minimum is ready, and the limit for reaching it. */
  gatherTimeoutMs: number;
  /** The countdown alone, when it differs (a resumed run starts as soon as one host answers). */
  countdownMs?: number;
  /** Why a host is not ready, for the error and the start report; defaults to what markNotReady was told. */
  explain?: (host: string) => string;
  clock?: Clock;
}

export interface MissingHost {
  host: string;
  why: string;
}

export interface QuorumStart {
  /** Hosts ready at the start, in the order they became ready. */
  ready: string[];
  /** Hosts not ready at the start; the fleet tells the scheduler when one becomes ready later. */
  missing: MissingHost[];
  /** From the start of gathering to the start of the run. */
  elapsedMs: number;
  /** `all-ready`: every host was ready; `countdown`: the minimum was ready and the countdown ran out. */
  trigger: 'all-ready' | 'countdown';
}

/** Words a person reads for each reason a host could not be used. */
export const FAILURE_WORDS: Readonly<Record<FleetFailureReason, string>> = {
  'bad-name': 'not a host name',
  dns: 'name does not resolve',
  refused: 'connection refused',
  unreachable: 'no route to host',
  timeout: 'timeout',
  auth: 'auth refused',
  'host-key': 'key refused',
  lost: 'connection lost',
  closed: 'closed',
  probe: 'probe failed',
};

/**
 * Gathers hosts for a run as the seed says: start at once when all are ready; once
 * the minimum is ready, count down `gatherTimeoutMs` and start when it ends (or all
 * are ready); give up when the minimum is not ready `gatherTimeoutMs` after gathering
 * began. After the start the quorum has no say: late hosts are the fleet's business.
 */
export class Quorum {
  readonly started: Promise<QuorumStart>;
  readonly minHosts: number;
  private readonly hosts: readonly string[];
  private readonly clock: Clock;
  private readonly timeoutMs: number;
  private readonly t0: number;
  private readonly ready: string[] = [];
  private readonly gaveUp = new Set<string>();
  private readonly whys = new Map<string, string>();
  private readonly explain: (host: string) => string;
  private deadline: unknown;
  private countdown: unknown;
  private countdownMs?: number;
  private state: 'gathering' | 'started' | 'failed' = 'gathering';
  private settle!: { resolve: (s: QuorumStart) => void; reject: (e: Error) => void };

  constructor(options: QuorumOptions) {
    this.hosts = [...new Set(options.hosts)];
    if (this.hosts.length === 0) throw new KvmFarmError('KVMFARM_BAD_ARGUMENT', 'no hosts to gather: name at least one');
    this.minHosts = options.minHosts ?? this.hosts.length;
    if (!Number.isInteger(this.minHosts) || this.minHosts < 1 || this.minHosts > this.hosts.length) {
      throw new KvmFarmError('KVMFARM_BAD_ARGUMENT', `--min-hosts ${options.minHosts}: must be a whole number from 1 to ${this.hosts.length}, the number of hosts listed`);
    }
    if (!Number.isFinite(options.gatherTimeoutMs) || options.gatherTimeoutMs < 0) {
      throw new KvmFarmError('KVMFARM_BAD_ARGUMENT', `--gather-timeout ${options.gatherTimeoutMs}: must be a finite time, 0 or more`);
    }
    this.timeoutMs = options.gatherTimeoutMs;
    if (options.countdownMs !== undefined) this.countdownMs = options.countdownMs;
    this.clock = options.clock ?? realClock;
    this.explain = options.explain ?? ((host) => this.whys.get(host) ?? 'not ready yet');
    this.t0 = this.clock.now();
    this.started = new Promise((resolve, reject) => (this.settle = { resolve, reject }));
    // A caller that stops gathering without awaiting must not see an unhandled rejection.
    this.started.catch(() => {});
    this.deadline = this.clock.setTimeout(() => this.onDeadline(), this.timeoutMs);
  }

  get readyHosts(): readonly string[] {
    return this.ready;
  }

  markReady(host: string): void {
    this.check(host);
    this.gaveUp.delete(host);
    if (this.ready.includes(host)) return;
    this.ready.push(host);
    if (this.state !== 'gathering') return;
    if (this.ready.length === this.hosts.length) this.start('all-ready');
    else if (this.ready.length >= this.minHosts && this.countdown === undefined) {
      this.countdown = this.clock.setTimeout(() => this.start('countdown'), this.countdownMs ?? this.timeoutMs);
    }
  }

  /**
   * A host is not (or no longer) ready. `final` when it will not come back
   * (`failed`): gathering then fails at once if the minimum is out of reach.
   */
  markNotReady(host: string, why: string, final = false): void {
    this.check(host);
    this.whys.set(host, why);
    if (final) this.gaveUp.add(host);
    const at = this.ready.indexOf(host);
    if (at >= 0) this.ready.splice(at, 1);
    if (this.state !== 'gathering') return;
    if (this.ready.length < this.minHosts) {
      // The seed's countdown only runs while the minimum holds.
      this.stopCountdown();
      const possible = this.hosts.length - this.gaveUp.size;
      if (possible < this.minHosts || this.clock.now() - this.t0 >= this.timeoutMs) this.fail();
    }
  }

  /** Stops gathering (interrupt): `started` rejects with this error and no timer is left. */
  cancel(error: Error): void {
    if (this.state !== 'gathering') return;
    this.state = 'failed';
    this.clearTimers();
    this.settle.reject(error);
  }

  private onDeadline(): void {
    this.deadline = undefined;
    if (this.state === 'gathering' && this.ready.length < this.minHosts) this.fail();
  }

  private start(trigger: QuorumStart['trigger']): void {
    if (this.state !== 'gathering') return;
    this.state = 'started';
    this.clearTimers();
    this.settle.resolve({ ready: [...this.ready], missing: this.missing(), elapsedMs: this.clock.now() - this.t0, trigger });
  }

  private fail(): void {
    this.state = 'failed';
    this.clearTimers();
    this.settle.reject(quorumError(this.ready.length, this.hosts.length, this.minHosts, this.clock.now() - this.t0, this.missing()));
  }

  private missing(): MissingHost[] {
    return this.hosts.filter((h) => !this.ready.includes(h)).map((host) => ({ host, why: this.explain(host) }));
  }

  private stopCountdown(): void {
    if (this.countdown !== undefined) this.clock.clearTimeout(this.countdown);
    this.countdown = undefined;
  }

  private clearTimers(): void {
    this.stopCountdown();
    if (this.deadline !== undefined) this.clock.clearTimeout(this.deadline);
    this.deadline = undefined;
  }

  private check(host: string): void {
    if (!this.hosts.includes(host)) throw new Error(`quorum: ${host} is not one of the hosts gathered (${this.hosts.join(', ')})`);
  }
}

/** One line naming each missing host and why, e.g. `h2 (connection refused)`. */
export function quorumError(ready: number, total: number, min: number, elapsedMs: number, missing: readonly MissingHost[]): KvmFarmError {
  const list = missing.map((m) => `${oneLine(m.host)} (${oneLine(m.why)})`).join(', ');
  const seconds = Math.round(elapsedMs / 100) / 10;
  return new KvmFarmError('KVMFARM_QUORUM',
    `only ${ready} of ${total} hosts ready after ${seconds} s, --min-hosts needs ${min}; missing: ${list}: fix those hosts, lower --min-hosts or raise --gather-timeout`);
}

/** Why a host is not ready, told from its state machine: the last failure, or where it is now. */
export function describeHost(machine: HostStateMachine): string {
  const failure = machine.lastFailure;
  const state = machine.state;
  if (failure && (state === failure.to || state === 'connecting' || state === 'rejoining')) {
    const why = failureWhy(failure);
    return state === failure.to ? why : `${why}, ${state} again`;
  }
  return `still ${state}`;
}

function failureWhy(t: Transition): string {
  if (!t.failure) return t.reason;
  const words = FAILURE_WORDS[t.failure];
  // A probe's reason says what is missing on the host; a connect failure's words say it all.
  return t.failure === 'probe' ? `${words}: ${t.reason}` : words;
}

/**
 * Feeds a Quorum from state machines: ready when a host reaches `ready`, not ready
 * when it becomes unreachable, lost or failed. Returns a function that stops listening.
 */
export function watchMachines(quorum: Quorum, machines: readonly HostStateMachine[]): () => void {
  const stops = machines.map((machine) => {
    const feed = (state: string): void => {
      if (state === 'ready') quorum.markReady(machine.host);
      else if (state === 'unreachable' || state === 'lost' || state === 'failed') {
        quorum.markNotReady(machine.host, describeHost(machine), state === 'failed');
      }
    };
    const onMove = (t: Transition): void => feed(t.to);
    machine.on('transition', onMove);
    feed(machine.state);
    return () => machine.off('transition', onMove);
  });
  return () => stops.forEach((stop) => stop());
}

/** A Quorum over these machines, explained by their states. */
export function gatherMachines(machines: readonly HostStateMachine[], options: Omit<QuorumOptions, 'hosts' | 'explain'>): { quorum: Quorum; stop: () => void } {
  const byHost = new Map(machines.map((m) => [m.host, m]));
  const quorum = new Quorum({ ...options, hosts: machines.map((m) => m.host), explain: (host) => describeHost(byHost.get(host)!) });
  const stop = watchMachines(quorum, machines);
  return { quorum, stop };
}
