import { randomBytes } from 'node:crypto';
import { closeSync, constants, fstatSync, linkSync, mkdirSync, openSync, readSync, realpathSync, renameSync, rmSync, symlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import { printable } from '../util/printable.js';
import { KvmFarmError } from '../util/errors.js';
import { isUnder, regularFileInside } from './safe-read.js';

/**
 * The one way kvm-farm writes into a run directory it did not just make empty
 * (kvm-recheck rewrites an old run; kvm-again fills a new one from an old one's
 * names). A name is checked lexically (no `..` out of the directory), then its
 * parent is resolved, links and all, and must still lie under the directory's
 * own real path: a symlinked instance directory cannot carry a write elsewhere.
 * The file itself is written to a fresh temporary name (O_EXCL|O_NOFOLLOW) and
 * renamed over the old one, and rename replaces a symlink instead of following
 * it, so a link planted where summary.json goes is replaced, its target untouched.
 */

/** The absolute path `file` (absolute, or relative to `root`) names, its parent checked to lie under `root`. */
export function pathInside(root: string, file: string): string {
  const rootResolved = path.resolve(root);
  const named = path.resolve(rootResolved, file);
  if (named === rootResolved || !isUnder(rootResolved, named)) throw outside(root, file);
  const parent = path.dirname(named);
  let realParent: string;
  try {
    realParent = realpathSync(parent);
  } catch (error) {
    throw new KvmFarmError('KVMFARM_UNSAFE_FILE', `cannot write ${printable(named)}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  if (!isUnder(realpathSync(rootResolved), realParent)) throw outside(root, file);
  return path.join(realParent, path.basename(named));
}

function outside(root: string, file: string): KvmFarmError {
  const shown = path.isAbsolute(file) ? file : path.join(root, file);
  return new KvmFarmError('KVMFARM_UNSAFE_FILE', `${printable(shown)} leads outside ${printable(root)}; nothing is written there`);
}

function writeError(target: string, error: unknown): KvmFarmError {
  const code = (error as NodeJS.ErrnoException).code;
  const why = code === 'EISDIR' ? 'a directory is in the way' : (code ?? String(error));
  return new KvmFarmError('KVMFARM_UNSAFE_FILE', `cannot write ${printable(target)}: ${why}`);
}

const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/** A fresh file beside `target`, filled by `fill`, then renamed onto `target`. */
function replaceWith(target: string, fill: (fd: number) => void): void {
  const temp = path.join(path.dirname(target), `.${path.basename(target).slice(0, 64)}.${randomBytes(6).toString('hex')}.tmp`);
  let fd: number;
  try {
    fd = openSync(temp, CREATE_FLAGS, 0o644);
  } catch (error) {
    throw writeError(target, error);
  }
  try {
    fill(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(temp, { force: true });
    throw error;
  }
  closeSync(fd);
  try {
    renameSync(temp, target);
  } catch (error) {
    rmSync(temp, { force: true });
    throw writeError(target, error);
  }
}

/** Writes (or replaces) `file` under `root`: never through a link, never outside `root`. */
export function writeInside(root: string, file: string, data: string | Buffer): void {
  const target = pathInside(root, file);
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  replaceWith(target, (fd) => {
    for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, bytes.length - at);
  });
}

/** Appends to `file` under `root`, creating it; a link, FIFO or directory there is an error, never followed or blocked on. */
export function appendInside(root: string, file: string, text: string): void {
  const target = pathInside(root, file);
  let fd: number;
  try {
    fd = openSync(target, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK, 0o644);
  } catch (error) {
    throw writeError(target, error);
  }
  try {
    if (!fstatSync(fd).isFile()) throw writeError(target, new Error('not a regular file'));
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
}

/** Makes the directory `dir` under `root` (its parent must exist); an existing entry, a link included, is an error. */
export function mkdirInside(root: string, dir: string): string {
  const target = pathInside(root, dir);
  try {
    mkdirSync(target);
  } catch (error) {
    throw writeError(target, error);
  }
  return target;
}

/** How a file comes over from another run: hard link, symbolic link to its real path, or a copy. */
export type PlaceMode = 'hard' | 'soft' | 'copy';

const COPY_CHUNK = 1024 * 1024;

/**
 * Puts the regular file `file` of directory `fromRoot` at `dest` under `toRoot`.
 * The source must be a regular file whose real path lies under `fromRoot` (a
 * hostile run's link to a secret is refused); a copy reads the descriptor it
 * checked, up to the size it checked.
 */
export function placeInside(fromRoot: string, file: string, toRoot: string, dest: string, mode: PlaceMode): void {
  const source = regularFileInside(fromRoot, file);
  if (!source) throw new KvmFarmError('KVMFARM_NO_KERNEL', `${printable(file)} does not exist`);
  const target = pathInside(toRoot, dest);
  try {
    if (mode === 'hard') return linkSync(source.real, target);
    if (mode === 'soft') return symlinkSync(source.real, target);
  } catch (error) {
    throw writeError(target, error);
  }
  const input = openSync(source.real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const stat = fstatSync(input);
    if (!stat.isFile()) throw new KvmFarmError('KVMFARM_UNSAFE_FILE', `${printable(file)} changed into something not a regular file; refused`);
    const buf = Buffer.allocUnsafe(COPY_CHUNK);
    replaceWith(target, (fd) => {
      for (let pos = 0; pos < stat.size; ) {
        const n = readSync(input, buf, 0, Math.min(buf.length, stat.size - pos), pos);
        if (n === 0) break;
        for (let at = 0; at < n; ) at += writeSync(fd, buf, at, n - at);
        pos += n;
      }
    });
  } finally {
    closeSync(input);
  }
}
