import type { Host } from '../transport/index.js';
import type { RemoteLog } from './remote-log.js';
import type { RemotePaths } from './remote-paths.js';
import { sweepRun } from './sweep.js';

/** How long a host may take to stop its guests and remove its work directory at the end. */
const CLEANUP_MS = 60_000;

/**
 * A host's last step in the run: anything of this run still running there is killed
 * and the work directory removed unless --keep-remote. The kernel store stays.
 */
export async function cleanUpHost(name: string, host: Host, paths: RemotePaths, tag: string, keep: boolean, log: RemoteLog): Promise<void> {
  // Guests end by themselves or are killed through their channels; this catches any that did not (a helper whose channel died).
  const killed = await sweepRun(host, tag);
  if (killed) log.event(name, `killed ${killed} leftover process(es) of this run`);
  if (keep) {
    log.event(name, `kept ${paths.work} (--keep-remote)`, true);
    return;
  }
  const rm = await host.run(['rm', '-rf', '--', paths.work, `${paths.root}/probe.img`], { timeoutMs: CLEANUP_MS }).catch((e: Error) => ({ exitCode: null, stderr: e.message }));
  log.event(name, rm.exitCode === 0 ? `removed ${paths.work}` : `could not remove ${paths.work}: ${rm.stderr.trim()}`, true);
}
