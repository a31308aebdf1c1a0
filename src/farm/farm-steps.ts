import path from 'node:path';
import PQueue from 'p-queue';
import type { TortureSuite } from '../scenarios/suites.js';
import type { BuiltQemuCommand } from '../qemu/index.js';
import { RUN_FILES } from '../rundir/layout.js';
import { judgeGuest } from '../run/judge-instance.js';
import type { AccelRequest } from '../run/options.js';
import { shipKernels, shipMissing } from './bring-up.js';
import { connectHost, LOCALHOST, type HostConnectOptions } from './connect-hosts.js';
import { cleanUpHost } from './finish-fleet.js';
import type { FleetSteps } from './fleet.js';
import { placeOnHost } from './place.js';
import { probeHost } from './probe-host.js';
import type { RemoteLog } from './remote-log.js';
import { runGuestOn } from './run-guest-on.js';
import type { GuestSteps } from './scheduler.js';
import { sweepRun } from './sweep.js';
import { readBootId } from './detached-guest.js';
import type { Batch } from '../plan/types.js';
import type { Member } from './member.js';
import { uniqueBlobs, type BlobIndex, type Blob } from './blobs.js';

export interface RealFleetInput {
  connect: HostConnectOptions;
  qemuBinary: string;
  accel: AccelRequest;
  remoteDir: string;
  /** The kernels every host gets as it comes up; a function when they are still being built: every kernel built by then. */
  blobs: Promise<Blob[]> | (() => Promise<Blob[]>);
  /** `--ship-concurrency`: hosts receiving at once. */
  shipConcurrency: number;
  shipTimeoutMs: number;
  log: RemoteLog;
  signal?: AbortSignal;
}

/** The fleet's steps on real hosts: ssh (or this machine for localhost), the probe guest, tar over the connection. */
export function realFleetSteps(input: RealFleetInput): FleetSteps {
  const signal = input.signal ? { signal: input.signal } : {};
  const shipQueue = new PQueue({ concurrency: input.shipConcurrency });
  return {
    connect: (name) => connectHost(name, input.connect),
    probe: (host) => probeHost(host, { qemuBinary: input.qemuBinary, accel: input.accel, remoteDir: input.remoteDir, ...signal }),
    ship: (host, paths, begin) => shipKernels(host, paths, { blobs: typeof input.blobs === 'function' ? input.blobs() : input.blobs, queue: shipQueue, timeoutMs: input.shipTimeoutMs, now: Date.now, ...signal }, begin),
    sweep: (host, tag) => sweepRun(host, tag),
    bootId: (host) => (host.name === LOCALHOST ? Promise.resolve(undefined) : readBootId(host)),
    cleanUp: (m, host, keep) => cleanUpHost(m.name, host, m.paths!, m.tag, keep, input.log),
  };
}

export interface RealGuestInput {
  runDir: string;
  /** The commands the rerun wrote: local kernel and console paths. */
  commands: Map<string, BuiltQemuCommand>;
  blobs: BlobIndex;
  suite: TortureSuite;
  durationSeconds: number;
  shutdownGraceSeconds: number;
  bootTimeoutSeconds: number;
  log: RemoteLog;
  signal?: AbortSignal;
  /** Kernels are still being built as the run starts: each batch's kernels go to its host as it is placed (longest wait in ms). */
  shipOnPlaceMs?: number;
}

/** The scheduler's steps on real hosts: qemu-cmd placed for the host, the guest run there, judged here. */
export function realGuestSteps(input: RealGuestInput): GuestSteps {
  const stopFile = path.join(input.runDir, RUN_FILES.stop);
  const shipFor = async (m: Member, batch: Batch): Promise<void> => {
    if (input.shipOnPlaceMs === undefined || !m.paths || !m.host) return;
    // Every kernel built so far, not only the batch's: any host can then take any instance, and a rerun sends nothing.
    const blobs = await uniqueBlobs([...input.commands.values()].map((command) => input.blobs.ofCommand(command)));
    try {
      const bytes = await shipMissing(m.host, m.paths, blobs, { timeoutMs: input.shipOnPlaceMs, ...(input.signal ? { signal: input.signal } : {}) });
      m.report.blobBytesShipped += bytes;
      if (bytes > 0) input.log.event(m.name, `sent ${bytes} bytes of kernels before batch ${batch.number} (every kernel built so far that it lacked)`);
    } catch (error) {
      // The guests then find no kernel there: an infrastructure fault of the host, rerun elsewhere.
      input.log.event(m.name, `could not send the kernels of batch ${batch.number}: ${(error as Error).message}`);
    }
  };
  return {
    place: async (m, batch, keep) => (await shipFor(m, batch), placeOnHost({
      runDir: input.runDir, batches: [batch], commands: input.commands, accel: m.probe!.accel, blobs: input.blobs, ...(m.paths ? { paths: m.paths } : {}),
      ...(keep?.attempts ? { attempts: keep.attempts } : {}), ...(keep?.tokens ? { tokens: keep.tokens } : {}),
    })),
    run: ({ instance, member: m, host, placed, onExit, reattach, follow, consoleAs }) => runGuestOn({
      instance, host, local: m.name === LOCALHOST, placed, runDir: input.runDir, tag: m.tag,
      durationSeconds: input.durationSeconds, shutdownGraceSeconds: input.shutdownGraceSeconds, bootTimeoutSeconds: input.bootTimeoutSeconds,
      stopFile, onExit, ...(reattach ? { reattach } : {}), ...(follow ? { follow } : {}), ...(consoleAs ? { consoleAs } : {}),
      onRefused: (refused) => input.log.event(m.name, `${instance}: refused from the host's result tarball: ${refused.map((r) => `${r.path} (${r.reason})`).join(', ')}`),
      ...(input.signal ? { signal: input.signal } : {}),
    }),
    judge: (guest, placed) => judgeGuest({
      dir: path.join(input.runDir, guest.instance), guest, suite: input.suite, durationSeconds: input.durationSeconds, ...(placed.banner ? { banner: placed.banner } : {}),
    }),
  };
}
