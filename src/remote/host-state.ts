import { appendFileSync } from 'node:fs';
import path from 'node:path';

/**
 * A host's life in one run. Every change goes through HostTracker.move, so the
 * allowed transitions live here and nowhere else (issue 7 adds requeueing and
 * quorum on top of these).
 */
export type HostStateName = 'connecting' | 'connected' | 'probed' | 'shipping' | 'ready' | 'running' | 'done' | 'failed' | 'cleaned';

const NEXT: Record<HostStateName, readonly HostStateName[]> = {
  connecting: ['connected', 'failed'],
  connected: ['probed', 'failed'],
  probed: ['shipping', 'ready', 'failed', 'done'],
  shipping: ['ready', 'failed'],
  ready: ['running', 'done', 'failed'],
  running: ['ready', 'done', 'failed'],
  done: ['cleaned', 'failed'],
  failed: ['cleaned'],
  cleaned: [],
};

/** The run directory's `remote-log`: one timestamped line per host event. */
export const REMOTE_LOG = 'remote-log';

export class RemoteLog {
  private readonly file: string;

  constructor(runDir: string, private readonly say: (line: string) => void) {
    this.file = path.join(runDir, REMOTE_LOG);
  }

  /** `2026-11-21T10:00:00.000Z h1 shipped 1397760 bytes in 0.05 s`; also echoed as a progress line. */
  event(host: string, what: string, quiet = false): void {
    appendFileSync(this.file, `${new Date().toISOString()} ${host} ${what}\n`);
    if (!quiet) this.say(`${host}: ${what}`);
  }
}

export class HostTracker {
  private readonly states = new Map<string, HostStateName>();
  private readonly failures = new Map<string, string>();

  constructor(private readonly log: RemoteLog) {}

  add(host: string): void {
    this.states.set(host, 'connecting');
    this.log.event(host, 'state connecting', true);
  }

  state(host: string): HostStateName {
    const state = this.states.get(host);
    if (!state) throw new Error(`host ${host} is not tracked`);
    return state;
  }

  failure(host: string): string | null {
    return this.failures.get(host) ?? null;
  }

  /** Moves a host on; an impossible move is a bug in kvm-farm, never a user error. */
  move(host: string, to: HostStateName, detail?: string): void {
    const from = this.state(host);
    if (from === to) return;
    if (!NEXT[from].includes(to)) throw new Error(`host ${host}: no transition ${from} -> ${to}`);
    this.states.set(host, to);
    this.log.event(host, `state ${to}${detail ? `: ${detail}` : ''}`, to === 'running' || to === 'ready');
  }

  fail(host: string, why: string): void {
    if (this.state(host) === 'failed' || this.state(host) === 'cleaned') return;
    this.failures.set(host, why);
    this.move(host, 'failed', why);
  }

  all(): { name: string; state: HostStateName }[] {
    return [...this.states].map(([name, state]) => ({ name, state }));
  }

  usable(host: string): boolean {
    const state = this.state(host);
    return state !== 'failed' && state !== 'cleaned';
  }
}
