import { EventEmitter } from 'node:events';
import { appendFileSync } from 'node:fs';
import type { HostFailureReason } from '../transport/host-errors.js';
import { KvmFarmError } from '../util/errors.js';
import { realClock, type Clock } from './clock.js';
import { oneLine } from '../util/printable.js';

/**
 * A host's life in one run, as the seed's per-machine state machine: every host
 * moves on its own, forward and back, so one sulking machine never stalls the rest.
 */
export type HostState =
  /** Opening the ssh connection (first time, or a retry after `unreachable`). */
  | 'connecting'
  /** Connected: CPU count, qemu, accelerator and disk being checked. */
  | 'probing'
  /** Kernels going over. */
  | 'shipping'
  /** Holds what it needs and has room for a batch. */
  | 'ready'
  /** At least one batch running. */
  | 'running'
  /** Guests being stopped (interrupt, STOP file); results still wanted. */
  | 'stopping'
  /** Pulling the last results and removing the remote work directory. */
  | 'collecting'
  /** Its part of the run is over; every result it had is home. */
  | 'done'
  /** Could not be reached before it was ever used; may be tried again. */
  | 'unreachable'
  /** Dropped while in use: its running instances go back on the queue. */
  | 'lost'
  /** A lost host being reconnected; it must be probed again, as it may have rebooted. */
  | 'rejoining'
  /** Unusable for the rest of the run (refused key or login, failed probe, gave up). */
  | 'failed';

/**
 * The one table of allowed moves. Back edges are the point: a lost host can come
 * back through rejoining → probing, an unreachable one is tried again, a running
 * host goes back to ready when its batch ends. A ready host never ships again: every
 * host receives every kernel of the run before it is ready.
 */
export const TRANSITIONS: Readonly<Record<HostState, readonly HostState[]>> = {
  connecting: ['probing', 'unreachable', 'failed', 'done'],
  probing: ['shipping', 'ready', 'lost', 'failed', 'done'],
  shipping: ['ready', 'collecting', 'lost', 'failed'],
  ready: ['running', 'collecting', 'lost'],
  running: ['ready', 'stopping', 'collecting', 'lost'],
  stopping: ['collecting', 'lost'],
  collecting: ['done', 'lost'],
  done: [],
  unreachable: ['connecting', 'failed'],
  lost: ['rejoining', 'failed'],
  rejoining: ['probing', 'lost', 'failed'],
  failed: [],
};

/** The way a healthy host goes, in order; the other states are detours off it. */
export const HAPPY_PATH: readonly HostState[] = ['connecting', 'probing', 'shipping', 'ready', 'running', 'stopping', 'collecting', 'done'];

const FAULT_STATES: readonly HostState[] = ['unreachable', 'lost', 'failed'];

/** States in which a host is connected and part of the run: it may be given work. */
export const USABLE_STATES: readonly HostState[] = ['probing', 'shipping', 'ready', 'running'];

export const HOST_STATES = Object.keys(TRANSITIONS) as HostState[];

export const TERMINAL_STATES: readonly HostState[] = HOST_STATES.filter((s) => TRANSITIONS[s].length === 0);

/** Why a host is unusable: the hosts layer's reasons, plus a failed probe. */
export type FleetFailureReason = HostFailureReason | 'probe';

export interface Transition {
  /** ISO 8601 time of the move. */
  at: string;
  host: string;
  from: HostState;
  to: HostState;
  reason: string;
  failure?: FleetFailureReason;
}

/** Where transitions are written: the coordinator appends them to `remote-log`. */
export type TransitionSink = (line: string, transition: Transition) => void;

/** A move the table does not allow: a bug in kvm-farm, never a user error. */
export class IllegalTransitionError extends Error {
  constructor(readonly host: string, readonly from: HostState, readonly to: HostState) {
    super(`host ${host}: no transition ${from} -> ${to} (allowed: ${TRANSITIONS[from].join(', ') || 'none'})`);
    this.name = 'IllegalTransitionError';
  }
}

/** A host did not reach a wanted state in time, or can no longer reach it. */
export class HostWaitError extends KvmFarmError {
  constructor(readonly host: string, readonly wanted: readonly HostState[], readonly state: HostState, message: string) {
    super('KVMFARM_HOST_TIMEOUT', message);
    this.name = 'HostWaitError';
  }
}

export function formatTransition(t: Transition): string {
  const failure = t.failure ? ` [${t.failure}]` : '';
  return `${t.at} ${oneLine(t.host)} state ${t.from} -> ${t.to}: ${oneLine(t.reason)}${failure}`;
}

/** A sink that appends each line to a file (the run directory's `remote-log`). */
export function fileSink(file: string): TransitionSink {
  // Synchronous so a crash right after a move still leaves the move on disk.
  return (line) => appendFileSync(file, `${line}\n`);
}

export interface HostStateMachineOptions {
  /** Gets one formatted line per transition. */
  sink?: TransitionSink;
  /** Time source for timestamps and waitFor limits; tests inject a fake one. */
  clock?: Clock;
  initial?: HostState;
}

/** One host's state machine. Emits `transition` (Transition) on every move. */
export class HostStateMachine extends EventEmitter<{ transition: [Transition] }> {
  private current: HostState;
  private readonly log: Transition[] = [];
  private readonly sink: TransitionSink;
  private readonly clock: Clock;

  constructor(readonly host: string, options: HostStateMachineOptions = {}) {
    super();
    this.current = options.initial ?? 'connecting';
    this.sink = options.sink ?? (() => {});
    this.clock = options.clock ?? realClock;
  }

  get state(): HostState {
    return this.current;
  }

  get history(): readonly Transition[] {
    return this.log;
  }

  /** The last move into unreachable, lost or failed: why this host is not usable now. */
  get lastFailure(): Transition | undefined {
    for (let i = this.log.length - 1; i >= 0; i--) {
      const t = this.log[i]!;
      if (t.to === 'unreachable' || t.to === 'lost' || t.to === 'failed') return t;
    }
    return undefined;
  }

  get lastReason(): string | undefined {
    return this.log.at(-1)?.reason;
  }

  /** Connected and in the run: the coordinator may give it work (once it is ready). */
  get usable(): boolean {
    return USABLE_STATES.includes(this.current);
  }

  can(to: HostState): boolean {
    return TRANSITIONS[this.current].includes(to);
  }

  transition(to: HostState, reason: string, failure?: FleetFailureReason): Transition {
    if (!this.can(to)) throw new IllegalTransitionError(this.host, this.current, to);
    const t: Transition = { at: new Date(this.clock.now()).toISOString(), host: this.host, from: this.current, to, reason };
    if (failure) t.failure = failure;
    this.current = to;
    this.log.push(t);
    this.sink(formatTransition(t), t);
    this.emit('transition', t);
    return t;
  }

  /**
   * Resolves once the host is in one of `states` (at once if it is already).
   * Rejects with HostWaitError when `timeoutMs` passes first, or as soon as the host
   * reaches a terminal state not wanted, since it will never move again.
   */
  waitFor(states: HostState | readonly HostState[], timeoutMs: number): Promise<HostState> {
    const wanted = typeof states === 'string' ? [states] : states;
    if (!Number.isFinite(timeoutMs) || timeoutMs < 0) {
      // No unbounded waits on a host, by design: a caller must say how long.
      throw new RangeError(`waitFor needs a finite time limit, got ${timeoutMs}`);
    }
    if (wanted.includes(this.current)) return Promise.resolve(this.current);
    if (TERMINAL_STATES.includes(this.current)) return Promise.reject(this.hopeless(wanted));
    return new Promise((resolve, reject) => {
      const onMove = (t: Transition): void => {
        if (wanted.includes(t.to)) {
          finish();
          resolve(t.to);
        } else if (TERMINAL_STATES.includes(t.to)) {
          finish();
          reject(this.hopeless(wanted));
        }
      };
      const timer = this.clock.setTimeout(() => {
        finish();
        reject(new HostWaitError(this.host, wanted, this.current,
          `host ${this.host}: not ${wanted.join(' or ')} within ${timeoutMs} ms (still ${this.current}${this.describeLast()})`));
      }, timeoutMs);
      const finish = (): void => {
        this.clock.clearTimeout(timer);
        this.off('transition', onMove);
      };
      this.on('transition', onMove);
    });
  }

  private hopeless(wanted: readonly HostState[]): HostWaitError {
    return new HostWaitError(this.host, wanted, this.current,
      `host ${this.host}: will never be ${wanted.join(' or ')}: it is ${this.current}${this.describeLast()}`);
  }

  private describeLast(): string {
    const reason = this.lastReason;
    return reason ? `: ${reason}` : '';
  }
}

/**
 * The transition table as a text state diagram for the README and closing note:
 * the healthy path first, then one line per state with its exits, each marked
 * `(back)` when it returns to an earlier step and `(fault)` when it leaves the path.
 */
export function renderStateDiagram(table: Readonly<Record<HostState, readonly HostState[]>> = TRANSITIONS): string {
  const order = Object.keys(table) as HostState[];
  const width = Math.max(...order.map((s) => s.length));
  const lines = order.map((from) => {
    const exits = table[from];
    if (exits.length === 0) return `${from.padEnd(width)}  (final)`;
    return `${from.padEnd(width)}  -> ${exits.map((to) => `${to}${edgeMark(from, to)}`).join(', ')}`;
  });
  return [`path: ${HAPPY_PATH.join(' -> ')}`, ...lines].join('\n');
}

function edgeMark(from: HostState, to: HostState): string {
  if (FAULT_STATES.includes(to)) return ' (fault)';
  const a = HAPPY_PATH.indexOf(from);
  const b = HAPPY_PATH.indexOf(to);
  if (b >= 0 && (a < 0 || b < a)) return ' (back)';
  return '';
}

/** One machine per host, all writing to the same sink (the run's `remote-log`). */
export function createFleet(hosts: readonly string[], options: Omit<HostStateMachineOptions, 'initial'> = {}): Map<string, HostStateMachine> {
  return new Map([...new Set(hosts)].map((host) => [host, new HostStateMachine(host, options)]));
}
