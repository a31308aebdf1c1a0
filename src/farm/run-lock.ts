import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { KvmFarmError } from '../util/errors.js';

/** In a run directory while a coordinator drives it: the holder's pid. */
export const RUN_LOCK_FILE = 'coordinator.lock';

/**
 * Takes the run directory for this coordinator, or refuses: two coordinators on one
 * run would start every guest twice. The lock is a file made with O_EXCL holding the
 * pid; one whose holder is dead (a coordinator killed with -9) is taken over, which
 * is what --resume needs. Returns the release.
 */
export function lockRunDir(runDir: string): () => void {
  const file = path.join(runDir, RUN_LOCK_FILE);
  for (let tries = 0; tries < 3; tries++) {
    try {
      const fd = openSync(file, 'wx', 0o644);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return () => rmSync(file, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      let holder = NaN;
      try {
        holder = Number(readFileSync(file, 'utf8').trim());
      } catch {
        // Gone meanwhile: try again.
      }
      // Our own pid counts too: a second coordinator in this process is still a second coordinator.
      if (Number.isInteger(holder) && holder > 0 && alive(holder)) {
        throw new KvmFarmError('KVMFARM_RUN_LOCKED', `${runDir} is being driven by another coordinator (pid ${holder}); wait for it or stop it first`);
      }
      rmSync(file, { force: true });
    }
  }
  throw new KvmFarmError('KVMFARM_RUN_LOCKED', `${runDir}: could not take ${RUN_LOCK_FILE}`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
