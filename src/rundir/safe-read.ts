import { closeSync, constants, fstatSync, openSync, readSync, realpathSync, type Stats } from 'node:fs';
import { open, realpath, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { printable } from '../util/printable.js';
import { KvmFarmError } from '../util/errors.js';

/**
 * The one way kvm-farm opens a file that a run or scenario directory names.
 * Such directories travel (a colleague's, a CI artifact, a host's), so their
 * files are data an attacker may have laid out: a FIFO that blocks every reader,
 * a link to /dev/zero that never ends, a link to a secret that an error message
 * would quote. Each file is therefore
 * - resolved (links and all) and required to stay under the directory's own real path;
 * - opened with O_NOFOLLOW (a link swapped in after the check is not followed)
 *   and O_NONBLOCK (opening a FIFO returns at once instead of waiting for a writer);
 * - checked to be a regular file by fstat on the open descriptor, so what is
 *   read is what was checked;
 * - refused when larger than a limit the caller gives, the limit named in the error.
 */

/** Small text files (CFLIST, fragments, .boot, qemu-cmd, guest.json, scenarios...): far above any real one. */
export const SMALL_FILE_BYTES = 16 * 1024 * 1024;

/** A console log: long runs write hundreds of megabytes; past this it is not a console. */
export const CONSOLE_FILE_BYTES = 8 * 1024 * 1024 * 1024;

const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

export interface CheckedFile {
  /** The file's real path, under the directory's real path. */
  real: string;
  size: number;
}

/** `file` (absolute, or relative to `root`) resolved and required to stay under `root`; undefined when it does not exist. */
export function resolveInside(root: string, file: string): string | undefined {
  const rootReal = realpathSync(root);
  const named = path.resolve(root, file);
  refuseOutside(root, path.resolve(root), named, file);
  let real: string;
  try {
    real = realpathSync(named);
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
  refuseOutside(root, rootReal, real, file);
  return real;
}

async function resolveInsideAsync(root: string, file: string): Promise<string | undefined> {
  const rootReal = await realpath(root);
  const named = path.resolve(root, file);
  refuseOutside(root, path.resolve(root), named, file);
  let real: string;
  try {
    real = await realpath(named);
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
  refuseOutside(root, rootReal, real, file);
  return real;
}

/** Whether `inner` is `outer` or lies under it (both resolved). */
export function isUnder(outer: string, inner: string): boolean {
  const rel = path.relative(outer, inner);
  return rel === '' || (!rel.startsWith(`..${path.sep}`) && rel !== '..' && !path.isAbsolute(rel));
}

function refuseOutside(root: string, rootResolved: string, target: string, file: string): void {
  if (!isUnder(rootResolved, target)) {
    throw new KvmFarmError('KVMFARM_UNSAFE_FILE', `${printable(shown(root, file))} leads outside ${printable(root)}; refused`);
  }
}

function shown(root: string, file: string): string {
  return path.isAbsolute(file) ? file : path.join(root, file);
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

function describeKind(stat: { isDirectory(): boolean; isFIFO(): boolean; isSocket(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isSymbolicLink(): boolean }): string {
  if (stat.isDirectory()) return 'a directory';
  if (stat.isFIFO()) return 'a FIFO';
  if (stat.isSocket()) return 'a socket';
  if (stat.isCharacterDevice() || stat.isBlockDevice()) return 'a device';
  if (stat.isSymbolicLink()) return 'a symbolic link';
  return 'not a regular file';
}

function notRegular(root: string, file: string, kind: string): KvmFarmError {
  return new KvmFarmError('KVMFARM_UNSAFE_FILE', `${printable(shown(root, file))} is ${kind}, not a regular file; refused`);
}

function tooBig(root: string, file: string, size: number, maxBytes: number): KvmFarmError {
  return new KvmFarmError('KVMFARM_UNSAFE_FILE', `${printable(shown(root, file))} is ${size} bytes, over the limit of ${maxBytes}; refused`);
}

function openError(root: string, file: string, error: unknown): KvmFarmError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ELOOP') return notRegular(root, file, 'a symbolic link');
  return new KvmFarmError('KVMFARM_UNSAFE_FILE', `cannot read ${printable(shown(root, file))}: ${code ?? String(error)}`);
}

/**
 * Opens `file` under `root` without blocking and checks, on the open descriptor, that
 * it is a regular file; undefined when it does not exist. The caller closes `fd`.
 */
function openRegularInside(root: string, file: string): { fd: number; stat: Stats; real: string } | undefined {
  const real = resolveInside(root, file);
  if (real === undefined) return undefined;
  let fd: number;
  try {
    fd = openSync(real, OPEN_FLAGS);
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw openError(root, file, error);
  }
  const stat = fstatSync(fd);
  if (!stat.isFile()) {
    closeSync(fd);
    throw notRegular(root, file, describeKind(stat));
  }
  return { fd, stat, real };
}

/**
 * The bytes of a file a run or scenario directory names, or undefined when it does
 * not exist. Anything else that is not a readable regular file under `root`, no
 * bigger than `maxBytes`, is an error naming the file.
 */
export function readInsideSync(root: string, file: string, maxBytes = SMALL_FILE_BYTES): Buffer | undefined {
  const opened = openRegularInside(root, file);
  if (opened === undefined) return undefined;
  const { fd, stat } = opened;
  try {
    if (stat.size > maxBytes) throw tooBig(root, file, stat.size, maxBytes);
    // Read no more than fstat promised (plus one byte to notice a file still growing past the limit).
    const buf = Buffer.alloc(Math.min(stat.size, maxBytes) + 1);
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, got);
      if (n === 0) break;
      got += n;
    }
    if (got > maxBytes) throw tooBig(root, file, got, maxBytes);
    return buf.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

/** {@link readInsideSync} as UTF-8 text. */
export function readTextInside(root: string, file: string, maxBytes = SMALL_FILE_BYTES): string | undefined {
  return readInsideSync(root, file, maxBytes)?.toString('utf8');
}

/** Whether `file` exists under `root` as a regular file; a link out of it or a FIFO is an error, not false. */
export function regularFileInside(root: string, file: string): CheckedFile | undefined {
  const opened = openRegularInside(root, file);
  if (opened === undefined) return undefined;
  try {
    return { real: opened.real, size: opened.stat.size };
  } finally {
    closeSync(opened.fd);
  }
}

/**
 * Opens a (possibly huge) file under `root` for streaming, after the same checks.
 * The caller reads at most `size` bytes: a file that grows meanwhile is read as it was.
 */
export async function openInside(root: string, file: string, maxBytes: number): Promise<{ handle: FileHandle; real: string; size: number } | undefined> {
  const real = await resolveInsideAsync(root, file);
  if (real === undefined) return undefined;
  let handle: FileHandle;
  try {
    handle = await open(real, OPEN_FLAGS);
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw openError(root, file, error);
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw notRegular(root, file, describeKind(stat));
    if (stat.size > maxBytes) throw tooBig(root, file, stat.size, maxBytes);
    return { handle, real, size: stat.size };
  } catch (error) {
    await handle.close();
    throw error;
  }
}
