import { mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Transform } from 'node:stream';
import { create as createTar } from 'tar';
import type { Host } from '../transport/index.js';
import { printable } from '../util/printable.js';
import { describeShipFailure, freeKiB } from './infra-fault.js';
import type { Blob } from './blobs.js';
import type { RemotePaths } from './remote-paths.js';

export interface ShipResult {
  /** Blob bytes sent; blobs the store already held are not sent. */
  blobBytes: number;
  /** Every byte of the tar stream. */
  tarBytes: number;
  /** Blobs the host already held. */
  reused: number;
  sent: number;
}

/**
 * Receives a tarball and installs it in one exec, so shipping costs one round trip:
 * make the directories, unpack stdin into the run's work directory, then move each
 * blob into the store once its content hashes to the name it arrived under (anything
 * else stops the install). A fixed script: work, store and incoming directories
 * arrive as $1, $2 and $3.
 */
const RECEIVE_SCRIPT =
  'mkdir -p -- "$2" "$3" && tar -x -f - -C "$1" --no-same-owner || exit 1; ' +
  'cd "$3" || exit 1; for f in *; do [ -f "$f" ] || continue; ' +
  'h=$(sha256sum < "$f") || exit 1; h=${h%% *}; ' +
  'if [ "$h" != "$f" ]; then echo "content of $f hashes to $h" >&2; exit 3; fi; ' +
  'mv -f -- "$f" "$2/$f" || exit 1; done; exit 0';

const STEP_MS = 30_000;

/** Names of the blobs a host's store holds (empty when the store does not exist yet). */
export async function listStore(host: Host, paths: RemotePaths): Promise<Set<string>> {
  const result = await host.run(['ls', '-1A', '--', paths.store], { timeoutMs: STEP_MS });
  return new Set(result.exitCode === 0 ? result.stdout.split('\n').filter((l) => /^[0-9a-f]{64}$/.test(l)) : []);
}

/**
 * Lays out one host's tarball in a local staging directory: the blobs it lacks, as
 * links to the run's own kernels (node-tar follows them). Done before shipping
 * starts, so "tarball ready" is a moment a benchmark can time from.
 */
export function stageShipment(blobs: readonly Blob[], held: Set<string>): { dir: string; entries: string[]; blobBytes: number; reused: number } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kvmfarm-ship-'));
  const entries: string[] = [];
  let blobBytes = 0;
  let reused = 0;
  const toSend = blobs.filter((b) => {
    if (held.has(b.hash)) reused++;
    return !held.has(b.hash);
  });
  if (toSend.length > 0) {
    mkdirSync(path.join(dir, 'incoming'));
    for (const blob of toSend) {
      symlinkSync(path.resolve(blob.localPath), path.join(dir, 'incoming', blob.hash));
      blobBytes += blob.size;
    }
    entries.push('incoming');
  }
  return { dir, entries, blobBytes, reused };
}

/**
 * Streams a staged tarball into `tar -x` on the host over its connection, then moves
 * the blobs into the store once their hashes check out. Uncompressed on purpose:
 * bzImages are compressed already (zstd -3 and gzip save about 1% of a tinyconfig
 * bzImage here) and the link moves ~150 MB/s, faster than gzip compresses.
 */
export async function ship(host: Host, paths: RemotePaths, staged: { dir: string; entries: string[] }, options: { timeoutMs: number; signal?: AbortSignal }): Promise<{ tarBytes: number }> {
  const child = await host.spawn(['sh', '-c', RECEIVE_SCRIPT, 'sh', paths.work, paths.store, paths.incoming], {
    timeoutMs: options.timeoutMs,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  let tarBytes = 0;
  const stderr: Buffer[] = [];
  child.stdout.resume();
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      tarBytes += chunk.length;
      done(null, chunk);
    },
  });
  const tarStream = createTar({ cwd: staged.dir, follow: true, portable: true }, staged.entries);
  tarStream.on('error', (error: unknown) => child.stdin.destroy(error as Error));
  tarStream.pipe(counter).pipe(child.stdin);
  const status = await child.exited;
  if (status.exitCode !== 0) {
    const why = Buffer.concat(stderr).toString().trim().split('\n')[0] || 'no message';
    const free = { kib: await freeKiB(host, paths.root), dir: paths.root };
    throw new Error(describeShipFailure(`receiving into ${paths.work} ended with ${status.exitCode ?? status.signal}: ${printable(why, 200)}`, free));
  }
  return { tarBytes };
}
