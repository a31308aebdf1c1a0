import { randomBytes } from 'node:crypto';
import type { HostStateMachine } from './host-state.js';
import type { Host } from '../transport/index.js';
import type { HostProbe } from './probe-host.js';
import type { RemotePaths } from './remote-paths.js';
import type { HostReport } from './types.js';

/**
 * One host of the fleet as the coordinator sees it: its state machine, connection and
 * what it cost. Only the Fleet changes it; the scheduler reads it (which connection,
 * how many CPUs, which accelerator) and keeps what runs where to itself.
 */
export interface Member {
  readonly name: string;
  readonly machine: HostStateMachine;
  /** The current connection; replaced when a lost host rejoins. */
  host?: Host;
  probe?: HostProbe;
  /** The host's work area; absent for localhost. */
  readonly paths?: RemotePaths;
  /** In the environment of every guest started here, so a sweep finds them (and nothing else). */
  readonly tag: string;
  /** The host's /proc/sys/kernel/random/boot_id as last read: a new one means it rebooted. */
  bootId?: string;
  /** Connection attempts since the last success: the backoff grows with it. */
  retries: number;
  /** A pending reconnect (unreachable or lost host): the clock's timer handle. */
  retryTimer?: unknown;
  /** The fleet's part of the host's report; the scheduler adds its batches at the end. */
  report: Omit<HostReport, 'batches' | 'state' | 'failure'>;
}

export function newMember(name: string, machine: HostStateMachine, paths?: RemotePaths, tag?: string): Member {
  return {
    name,
    machine,
    ...(paths ? { paths } : {}),
    tag: tag ?? randomBytes(8).toString('hex'),
    retries: 0,
    report: { name, losses: 0, blobBytesShipped: 0, tarBytesShipped: 0 },
  };
}

/** 2, 4, 8, then every 15 s: a host that sulks is tried again without hammering it. */
export function backoffMs(retries: number): number {
  return Math.min(15_000, 2_000 * 2 ** Math.max(0, retries - 1));
}

/** A connection that can drop under us (ssh; a test's fake host): it says so once, with `lost`. */
interface LosableHost {
  readonly lostError: Error | null | undefined;
  on(event: 'lost', listener: (error: Error) => void): unknown;
}

function isLosable(host: Host): host is Host & LosableHost {
  return 'lostError' in host && typeof (host as { on?: unknown }).on === 'function';
}

/** Calls `fn` once if this connection drops; a local host never does. */
export function onConnectionLost(host: Host, fn: (why: string) => void): void {
  if (isLosable(host)) host.on('lost', (error) => fn(error.message));
}

/** True once this connection has dropped (its `lost` may not have been told yet). */
export function connectionLost(host: Host): boolean {
  return isLosable(host) && !!host.lostError;
}
