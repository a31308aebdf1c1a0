import { randomBytes } from 'node:crypto';
import type { HostStateMachine } from '../fleet/host-state.js';
import type { Host } from '../hosts/index.js';
import type { HostProbe } from './probe-host.js';
import type { RemotePaths } from './remote-paths.js';
import type { HostReport } from './types.js';

/** One host of the fleet as the coordinator sees it: its state machine, connection and work. */
export interface Member {
  name: string;
  machine: HostStateMachine;
  /** The current connection; replaced when a lost host rejoins. */
  host?: Host;
  probe?: HostProbe;
  /** The host's work area; absent for localhost. */
  paths?: RemotePaths;
  /** In the environment of every guest started here, so a sweep finds them (and nothing else). */
  tag: string;
  /** A batch is running: the host has no room until its last qemu exits. */
  busy: boolean;
  /** Connection attempts since the last success: the backoff grows with it. */
  retries: number;
  /** A pending reconnect (unreachable or lost host). */
  retryTimer?: NodeJS.Timeout;
  report: HostReport;
}

export function newMember(name: string, machine: HostStateMachine): Member {
  return {
    name,
    machine,
    tag: randomBytes(8).toString('hex'),
    busy: false,
    retries: 0,
    report: { name, state: machine.state, failure: null, losses: 0, blobBytesShipped: 0, tarBytesShipped: 0, batches: [] },
  };
}

/** 2, 4, 8, then every 15 s: a host that sulks is tried again without hammering it. */
export function backoffMs(retries: number): number {
  return Math.min(15_000, 2_000 * 2 ** Math.max(0, retries - 1));
}
