import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, constants, ftruncateSync, mkdirSync, openSync, readFileSync, readdirSync, readlinkSync, realpathSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sleep } from '../qemu/child.js';
import { KvmFarmError } from '../util/errors.js';
import { printable } from '../util/printable.js';

/**
 * One run at a time per kernel tree and results directory, as kvm.sh allows one per
 * tree. The lock is a flock(2) on a file in the results directory: the kernel drops it
 * when its holder dies, however it dies, so a lock left by a crashed run is never in
 * the way, and nothing has to guess whether a recorded pid is still the same process.
 * The file's text says who holds it, for the refusal line and for --kill-previous.
 */

/** What the lock file says about its holder. Read back from a file anyone may write: checked before use. */
export interface LockHolder {
  pid: number;
  host: string;
  startedAt: string;
  kernelTree: string;
  runDir?: string;
}

export interface RunLockInput {
  kernelTree: string;
  results: string;
  /** Stop the run that holds the lock (SIGINT, as Ctrl-C), wait for it to let go, then take it. */
  killPrevious: boolean;
  log: (line: string) => void;
  /** How long a stopped run gets to write its results and let go. */
  stopWaitMs?: number;
}

export interface RunLock {
  path: string;
  /** Names the run directory in the lock file once it exists. */
  recordRunDir(runDir: string): void;
  release(): void;
}

/** A run stopped by SIGINT stops its guests (3 s each), judges them and writes its reports: well under this. */
const STOP_WAIT_MS = 120_000;

/** The lock file of one kernel tree in one results directory. */
export function runLockPath(kernelTree: string, results: string): string {
  const tree = realpathSync(kernelTree);
  const key = createHash('sha256').update(tree).digest('hex').slice(0, 12);
  return path.join(path.resolve(results), `.kvm-farm-${key}.lock`);
}

/** Takes the lock, or throws KVMFARM_RUN_LOCKED naming the run that holds it. */
export async function acquireRunLock(input: RunLockInput): Promise<RunLock> {
  const file = runLockPath(input.kernelTree, input.results);
  let fd: number;
  try {
    mkdirSync(path.dirname(file), { recursive: true });
    fd = openSync(file, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o644);
  } catch (error) {
    throw new KvmFarmError('KVMFARM_BAD_ARGUMENT', `cannot make the run lock ${printable(file)} in the results directory: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  try {
    if (!tryLock(fd)) {
      const holder = await readHolder(file);
      if (!input.killPrevious) throw lockedError(holder, file);
      await stopHolder(holder, file, fd, input);
    }
    const previous = parseHolder(readText(file));
    if (previous && previous.pid !== process.pid) input.log(`Taking over the lock of run pid ${previous.pid}, which is gone (${printable(previous.runDir ?? 'no run directory')})`);
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  const holder: LockHolder = { pid: process.pid, host: os.hostname(), startedAt: new Date().toISOString(), kernelTree: realpathSync(input.kernelTree) };
  writeHolder(fd, holder);
  let open = true;
  return {
    path: file,
    recordRunDir(runDir) {
      if (open) writeHolder(fd, { ...holder, runDir });
    },
    release() {
      if (!open) return;
      open = false;
      ftruncateSync(fd, 0);
      closeSync(fd);
    },
  };
}

/**
 * flock(2) through util-linux's flock on our own descriptor: the lock belongs to the open
 * file, which this process keeps open, so it lasts after the flock command exits and
 * ends when this process closes the file or dies.
 */
function tryLock(fd: number): boolean {
  const r = spawnSync('flock', ['--nonblock', '--conflict-exit-code', '75', '3'], { stdio: ['ignore', 'ignore', 'pipe', fd], timeout: 10_000 });
  if (r.error) throw new KvmFarmError('KVMFARM_BUILD_SETUP', `cannot run flock to lock the results directory: ${r.error.message} (apt-get install util-linux)`);
  if (r.status === 0) return true;
  if (r.status === 75) return false;
  throw new KvmFarmError('KVMFARM_BUILD_SETUP', `flock failed on the results directory's lock: ${printable(r.stderr.toString().trim(), 300)}`);
}

function lockedError(holder: LockHolder | undefined, file: string): KvmFarmError {
  const who = holder ? `pid ${holder.pid}, run directory ${printable(holder.runDir ?? '(not made yet)')}` : `unknown holder of ${printable(file)}`;
  return new KvmFarmError('KVMFARM_RUN_LOCKED', `another run is using this kernel tree and results directory (${who}); wait for it to end, or add --kill-previous to stop it`);
}

/** Stops the holder as Ctrl-C would, then waits for the lock to come free. */
async function stopHolder(holder: LockHolder | undefined, file: string, fd: number, input: RunLockInput): Promise<void> {
  if (!holder || holder.pid === process.pid || !holdsOpen(holder.pid, file)) {
    // The file's text is not proof: signal only a process that really has the lock file open.
    throw new KvmFarmError('KVMFARM_RUN_LOCKED', `--kill-previous: the lock ${printable(file)} is held, but not by the pid it names (${holder?.pid ?? 'none'}); stop that run by hand`);
  }
  input.log(`Stopping the previous run (pid ${holder.pid}, run directory ${printable(holder.runDir ?? '(not made yet)')})`);
  try {
    process.kill(holder.pid, 'SIGINT');
  } catch {
    // It ended on its own meanwhile: the lock is about to be free.
  }
  const waitMs = input.stopWaitMs ?? STOP_WAIT_MS;
  const until = Date.now() + waitMs;
  while (!tryLock(fd)) {
    if (Date.now() > until) {
      throw new KvmFarmError('KVMFARM_RUN_LOCKED', `--kill-previous: run pid ${holder.pid} still holds the lock ${Math.round(waitMs / 1000)} s after SIGINT; stop it by hand`);
    }
    await sleep(200);
  }
  input.log(`The previous run (pid ${holder.pid}) has stopped`);
}

/** Whether process `pid` has `file` open: true of the real holder of an flock on it. */
function holdsOpen(pid: number, file: string): boolean {
  const fdDir = `/proc/${pid}/fd`;
  let entries: string[];
  try {
    entries = readdirSync(fdDir);
  } catch {
    return false;
  }
  return entries.some((entry) => {
    try {
      return readlinkSync(path.join(fdDir, entry)) === file;
    } catch {
      return false;
    }
  });
}

/** The holder writes its record just after it locks: give it a moment before calling it unknown. */
async function readHolder(file: string): Promise<LockHolder | undefined> {
  for (let i = 0; i < 10; i++) {
    const holder = parseHolder(readText(file));
    if (holder) return holder;
    await sleep(100);
  }
  return undefined;
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8').slice(0, 10_000);
  } catch {
    return '';
  }
}

export function parseHolder(text: string): LockHolder | undefined {
  try {
    const raw = JSON.parse(text) as Record<string, unknown>;
    if (!Number.isSafeInteger(raw.pid) || (raw.pid as number) <= 1) return undefined;
    const str = (v: unknown) => (typeof v === 'string' ? v.slice(0, 4096) : '');
    return {
      pid: raw.pid as number,
      host: str(raw.host),
      startedAt: str(raw.startedAt),
      kernelTree: str(raw.kernelTree),
      ...(typeof raw.runDir === 'string' ? { runDir: str(raw.runDir) } : {}),
    };
  } catch {
    return undefined;
  }
}

function writeHolder(fd: number, holder: LockHolder): void {
  const text = `${JSON.stringify(holder)}\n`;
  ftruncateSync(fd, 0);
  writeSync(fd, text, 0);
}
