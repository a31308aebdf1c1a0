import { mkdtemp, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { safeExtract, type Refusal } from './safe-extract.js';
import type { Host } from '../transport/index.js';
import { INSTANCE_FILES } from '../rundir/layout.js';

/** The files a host may send back for one instance; anything else in its tarball is refused. */
const RESULT_FILES = new Set<string>([INSTANCE_FILES.consoleLog]);

const COLLECT_MS = 60_000;

export interface Collected {
  /** Result files now in the instance directory. */
  written: string[];
  refused: Refusal[];
  /** Set when the host could not send its files (the live console stays). */
  failed?: string;
}

/**
 * Brings an instance's result files home as a tar stream from the host and unpacks
 * it with safeExtract: the host is not trusted, so nothing it sends can land outside
 * the instance directory or be anything but a regular result file. Unpacked into a
 * fresh directory inside the instance directory first, so a refused or cut-off
 * archive never replaces the console streamed live. `consoleAs` names the console
 * differently (an extra attempt's, kept beside the judged one).
 */
export async function collectResults(host: Host, remoteDir: string, localDir: string, consoleAs?: string): Promise<Collected> {
  const staging = await mkdtemp(path.join(localDir, '.collect-'));
  try {
    const tar = await host.spawn(['tar', '-c', '-f', '-', '-C', remoteDir, '--', ...RESULT_FILES], { timeoutMs: COLLECT_MS });
    tar.stdin.end();
    tar.stderr.resume();
    const [unpacked, status] = await Promise.all([
      safeExtract(tar.stdout, staging, { maxEntries: 100, maxDepth: 1, accept: (rel) => RESULT_FILES.has(rel) }),
      tar.exited.catch((error: Error) => ({ exitCode: null, signal: null, error })),
    ]);
    const failed = 'error' in status ? status.error.message : status.exitCode !== 0 ? `tar on ${host.name} ended with ${status.exitCode ?? status.signal}` : unpacked.aborted;
    const written: string[] = [];
    if (!failed) {
      for (const rel of unpacked.written) {
        await rename(path.join(staging, rel), path.join(localDir, consoleAs && rel === INSTANCE_FILES.consoleLog ? consoleAs : rel));
        written.push(rel);
      }
    }
    return { written, refused: unpacked.refused, ...(failed ? { failed } : {}) };
  } catch (error) {
    return { written: [], refused: [], failed: (error as Error).message };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
