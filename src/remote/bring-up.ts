import { rmSync } from 'node:fs';
import type PQueue from 'p-queue';
import type { FleetFailureReason } from '../fleet/host-state.js';
import { isHostError, SshHost, type Host } from '../hosts/index.js';
import type { Blob } from './blobs.js';
import { connectHost, type HostConnectOptions } from './connect-hosts.js';
import type { Member } from './member.js';
import { probeHost, ProbeFailure, type ProbeHostOptions } from './probe-host.js';
import type { RemoteLog } from './remote-log.js';
import { listStore, ship, stageShipment } from './ship.js';
import { sweepRun } from './sweep.js';

export interface BringUpContext {
  connect: HostConnectOptions;
  probe: ProbeHostOptions;
  /** Every kernel and initrd of the run: each host gets them all, so any host can take any instance. */
  blobs: Promise<Blob[]>;
  shipQueue: PQueue;
  shipTimeoutMs: number;
  log: RemoteLog;
  /** Called once per connection that drops while the host is in use. */
  onLost: (member: Member, host: Host, why: string) => void;
  /** First "tarball ready" and last "kernels held" of the run, for the ship timing. */
  shipTimes: { firstReady?: number; lastHeld?: number };
  /** True once the run has ended: a connection made after that is closed at once. */
  isOver: () => boolean;
  signal?: AbortSignal;
}

/** Connection failures a retry cannot fix: the host is failed, not unreachable. */
const FINAL_REASONS: readonly string[] = ['auth', 'host-key', 'bad-name'];

/**
 * Takes a host from `connecting` (or `rejoining`, after a loss) to `ready`: connect,
 * probe, ship every kernel it lacks. Each step's failure moves the state machine to
 * where it belongs (unreachable, lost or failed) with the reason; the caller decides
 * whether to try again. Returns the state it ended in.
 */
export async function bringUp(m: Member, ctx: BringUpContext): Promise<string> {
  const rejoining = m.machine.state === 'rejoining';
  let host: Host;
  try {
    host = await connectHost(m.name, ctx.connect);
  } catch (error) {
    const reason = isHostError(error) ? error.reason : undefined;
    const message = (error as Error).message;
    if (!reason || FINAL_REASONS.includes(reason)) m.machine.transition('failed', message, reason as FleetFailureReason | undefined);
    else m.machine.transition(rejoining ? 'lost' : 'unreachable', message, reason);
    return m.machine.state;
  }
  if (ctx.signal?.aborted || ctx.isOver()) {
    await host.close();
    return m.machine.state;
  }
  const previous = m.host;
  m.host = host;
  if (previous) void previous.close().catch(() => {});
  if (host instanceof SshHost) {
    host.on('lost', (error) => {
      if (m.host === host) ctx.onLost(m, host, error.message);
    });
  }
  m.retries = 0;
  const connectMs = host instanceof SshHost ? ` in ${host.connectMs} ms` : '';
  if (rejoining) {
    // Guests started before the loss may still run there: they would take CPUs the new batches are given.
    const killed = await sweepRun(host, m.tag);
    m.machine.transition('probing', `reconnected${connectMs}; ${killed ?? 'unknown number of'} leftover process(es) of this run killed`);
  } else {
    m.machine.transition('probing', `connected${connectMs}`);
  }
  try {
    m.probe = await probeHost(host, ctx.probe);
    if (!stillMine(m, host, 'probing')) return m.machine.state;
    ctx.log.event(m.name, `probed: ${m.probe.cpus} CPUs, ${m.probe.accel} (${m.probe.accelReason}), ${(m.probe.freeBytes / 2 ** 30).toFixed(1)} GiB free in ${ctx.probe.remoteDir}, ${m.probe.qemuVersion}`, true);
    if (m.paths) await shipKernels(m, host, ctx);
    if (!stillMine(m, host, m.paths ? 'shipping' : 'probing')) return m.machine.state;
    m.machine.transition('ready', `${m.probe.cpus} CPUs, ${m.probe.accel}`);
  } catch (error) {
    if (!stillMine(m, host, m.machine.state)) return m.machine.state;
    if (error instanceof ProbeFailure) m.machine.transition('failed', error.message, 'probe');
    else if (isHostError(error) && m.machine.can('lost')) ctx.onLost(m, host, error.message);
    else m.machine.transition('failed', (error as Error).message);
  }
  return m.machine.state;
}

/** False when the host was lost (or the run moved it on) while a step was under way. */
function stillMine(m: Member, host: Host, state: string): boolean {
  return m.host === host && m.machine.state === state;
}

async function shipKernels(m: Member, host: Host, ctx: BringUpContext): Promise<void> {
  const paths = m.paths!;
  const stage = stageShipment(await ctx.blobs, await listStore(host, paths));
  const ready = Date.now();
  ctx.shipTimes.firstReady ??= ready;
  try {
    await ctx.shipQueue.add(async () => {
      if (!stillMine(m, host, 'probing')) return;
      m.machine.transition('shipping', stage.blobBytes > 0 ? `${stage.blobBytes} bytes of kernels to send, ${stage.reused} kernel(s) held already` : `all ${stage.reused} kernel(s) held already`);
      const began = Date.now();
      // Nothing to send (a rerun): no tar stream at all.
      const { tarBytes } = stage.entries.length === 0 ? { tarBytes: 0 } : await ship(host, paths, stage, { timeoutMs: ctx.shipTimeoutMs, ...(ctx.signal ? { signal: ctx.signal } : {}) });
      const held = Date.now();
      ctx.shipTimes.lastHeld = Math.max(ctx.shipTimes.lastHeld ?? 0, held);
      m.report.shipMs = held - ready;
      m.report.tarBytesShipped += tarBytes;
      m.report.blobBytesShipped += stage.blobBytes;
      ctx.log.event(m.name, `shipped ${tarBytes} bytes (${stage.blobBytes} of kernels, ${stage.reused} kernel(s) already held) in ${((held - began) / 1000).toFixed(2)} s`);
    });
  } finally {
    rmSync(stage.dir, { recursive: true, force: true });
  }
}
