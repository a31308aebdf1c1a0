import { rmSync } from 'node:fs';
import type PQueue from 'p-queue';
import type { FleetFailureReason, HostState } from './host-state.js';
import { isHostError, type Host } from '../transport/index.js';
import type { Blob } from './blobs.js';
import type { RemotePaths } from './remote-paths.js';
import { listStore, ship, stageShipment } from './ship.js';

/** Connection failures a retry cannot fix: the host is failed, not unreachable. */
const FINAL_REASONS: readonly string[] = ['auth', 'host-key', 'bad-name'];

/** Where a failed connection attempt leaves the host, and why: failed for good, or worth another try. */
export function afterConnectFailure(error: unknown, rejoining: boolean): { to: HostState; reason: string; failure?: FleetFailureReason } {
  const failure = isHostError(error) ? error.reason : undefined;
  const reason = (error as Error).message;
  if (!failure || FINAL_REASONS.includes(failure)) return { to: 'failed', reason, ...(failure ? { failure } : {}) };
  return { to: rejoining ? 'lost' : 'unreachable', reason, failure };
}

/** What shipping one host cost; times from the fleet's clock. */
export interface ShipReport {
  tarBytes: number;
  blobBytes: number;
  reused: number;
  /** The host's tarball was staged ("tarball ready"). */
  readyAt: number;
  /** Sending began (the ship queue let it). */
  beganAt: number;
  /** The host held every kernel. */
  heldAt: number;
}

export interface ShipKernelsInput {
  /** Every kernel and initrd of the run: each host gets them all, so any host can take any instance. */
  blobs: Promise<Blob[]>;
  /** Limits how many hosts receive at once (--ship-concurrency). */
  queue: PQueue;
  timeoutMs: number;
  now: () => number;
  signal?: AbortSignal;
}

/**
 * Sends a host the kernels its store lacks, in one tar stream, when the ship queue
 * lets it. `begin` is told what is about to go just before sending starts; when it
 * answers false (the host was lost or moved on while waiting) nothing is sent and
 * the result is null.
 */
export async function shipKernels(host: Host, paths: RemotePaths, input: ShipKernelsInput, begin: (what: string) => boolean): Promise<ShipReport | null> {
  const stage = stageShipment(await input.blobs, await listStore(host, paths));
  const readyAt = input.now();
  try {
    return await input.queue.add(async () => {
      if (!begin(stage.blobBytes > 0 ? `${stage.blobBytes} bytes of kernels to send, ${stage.reused} kernel(s) held already` : `all ${stage.reused} kernel(s) held already`)) return null;
      const beganAt = input.now();
      // Nothing to send (a rerun): no tar stream at all.
      const { tarBytes } = stage.entries.length === 0 ? { tarBytes: 0 } : await ship(host, paths, stage, { timeoutMs: input.timeoutMs, ...(input.signal ? { signal: input.signal } : {}) });
      return { tarBytes, blobBytes: stage.blobBytes, reused: stage.reused, readyAt, beganAt, heldAt: input.now() };
    }) ?? null;
  } finally {
    rmSync(stage.dir, { recursive: true, force: true });
  }
}

/**
 * Sends a host the kernels of `blobs` its store lacks, before a batch that boots them:
 * a run whose kernels are still being built ships each as its guests are placed.
 * Returns the bytes sent (0 when the host held them all).
 */
export async function shipMissing(host: Host, paths: RemotePaths, blobs: readonly Blob[], options: { timeoutMs: number; signal?: AbortSignal }): Promise<number> {
  const stage = stageShipment(blobs, await listStore(host, paths));
  try {
    if (stage.entries.length > 0) await ship(host, paths, stage, options);
    return stage.blobBytes;
  } finally {
    rmSync(stage.dir, { recursive: true, force: true });
  }
}
