import { createReadStream, lstatSync, realpathSync, type Stats } from 'node:fs';
import { lstat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { Unpack, type ReadEntry } from 'tar';
import { KvmFarmError } from '../util/errors.js';
import { oneLine } from '../util/printable.js';

/**
 * Unpacking a result tarball from a host we do not trust into one scenario
 * directory. node-tar already strips, skips or refuses most hostile entries, but
 * only as warnings; here every entry is judged first by our own rules (only
 * regular files and directories, relative paths without `..`, within a size
 * budget), node-tar's own checks stay on behind them, and what lands on disk is
 * checked again afterwards.
 */
export interface SafeExtractOptions {
  /** Most bytes of file content written; larger entries are refused. Default 256 MiB. */
  maxBytes?: number;
  /** Most entries read before giving up on the archive. Default 10 000. */
  maxEntries?: number;
  /** Most path components in an entry name. Default 8. */
  maxDepth?: number;
  /** Extra rule on each relative path (say, only console logs and retvals); false refuses it. */
  accept?: (relPath: string) => boolean;
}

export interface Refusal {
  /** The entry's name as the archive gave it, control characters escaped. */
  path: string;
  /** node-tar's entry type (`SymbolicLink`, `CharacterDevice`), or `archive` for the archive as a whole. */
  type: string;
  reason: string;
}

export interface SafeExtractResult {
  /** Relative paths written (files and directories), in archive order. */
  written: string[];
  refused: Refusal[];
  /** File content bytes written. */
  bytes: number;
  /** Set when the archive was abandoned part way (too many entries, far too big, corrupt). */
  aborted?: string;
}

const CLOSE_FAILSAFE_MS = 10_000;
/** A hostile archive can hold millions of bad entries: list this many, then count. */
const MAX_LISTED_REFUSALS = 100;

const FILE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile']);
const TYPE_WORDS: Record<string, string> = {
  SymbolicLink: 'symbolic link',
  Link: 'hard link',
  CharacterDevice: 'character device',
  BlockDevice: 'block device',
  FIFO: 'fifo',
};

/**
 * Unpacks `source` (a stream, say an ssh channel, or a file; gzip is detected) into
 * `targetDir`, which must exist. Resolves once everything started is on disk; never
 * rejects for what the archive holds, only for a bad target. When the archive is
 * abandoned, a stream given as `source` is destroyed, since a hostile sender should
 * not be read any further.
 */
export async function safeExtract(source: Readable | string, targetDir: string, options: SafeExtractOptions = {}): Promise<SafeExtractResult> {
  const maxBytes = options.maxBytes ?? 256 * 1024 * 1024;
  const maxEntries = options.maxEntries ?? 10_000;
  const maxDepth = options.maxDepth ?? 8;
  const cwd = checkTarget(targetDir);
  const accepted: Array<{ rel: string; entry: ReadEntry }> = [];
  const refused: Refusal[] = [];
  let entries = 0;
  let declared = 0;
  let budgetUsed = 0;
  let aborted: string | undefined;

  const input = typeof source === 'string' ? createReadStream(source) : source;
  let unlisted = 0;
  const refuse = (entry: ReadEntry | undefined, reason: string): void => {
    if (refused.length >= MAX_LISTED_REFUSALS) {
      unlisted++;
      return;
    }
    refused.push({ path: entry ? oneLine(String(entry.path)) : '(archive)', type: entry ? String(entry.type) : 'archive', reason: oneLine(reason) });
  };

  const unpack = new Unpack({
    cwd,
    strict: false,
    // A kvm-again run links kernels into scenario directories; writing through
    // such a link would change the original run. node-tar already replaces links
    // rather than writing through them; unlink makes replacing the rule for every path.
    unlink: true,
    preserveOwner: false,
    noMtime: true,
    maxDepth,
    filter: (_p, e) => {
      const entry = e as ReadEntry;
      entries++;
      declared += entry.size ?? 0;
      if (aborted) return false;
      if (entries > maxEntries) return abort(`more than ${maxEntries} entries`);
      // A stream of refused giants still costs time to read past: stop early.
      if (declared > 2 * maxBytes + 1024 * 1024) return abort(`the archive declares more than twice the ${maxBytes}-byte limit`);
      const why = judgeEntry(entry, cwd, maxDepth, maxBytes - budgetUsed, options.accept);
      if (typeof why === 'string') {
        refuse(entry, why);
        return false;
      }
      if (why === null) return false;
      // Content bits only: no setuid, setgid or sticky from another machine.
      entry.mode = entry.type === 'Directory' ? 0o755 : 0o644;
      if (entry.type !== 'Directory') budgetUsed += entry.size ?? 0;
      accepted.push({ rel: why.rel, entry });
      return true;
    },
    onwarn: (code, message, data) => {
      // Informational notes leave the entry written; anything else means node-tar skipped it.
      // After an abort the cut-off input only makes noise (truncated archive).
      if (code === 'TAR_ENTRY_INFO' || (aborted && !(data as { entry?: ReadEntry }).entry)) return;
      const entry = (data as { entry?: ReadEntry }).entry;
      refuse(entry, `${code}: ${message}`);
      if (entry) {
        const at = accepted.findIndex((a) => a.entry === entry);
        if (at >= 0) accepted.splice(at, 1);
      }
    },
  });

  function abort(reason: string): false {
    aborted = reason;
    refuse(undefined, reason);
    // Stop reading but let node-tar finish the files it has started, so the
    // written list is true when this returns and nothing lands afterwards.
    queueMicrotask(() => {
      input.unpipe(unpack);
      input.destroy();
      unpack.end();
    });
    return false;
  }

  await new Promise<void>((resolve) => {
    let failsafe: NodeJS.Timeout | undefined;
    const settle = (): void => {
      clearTimeout(failsafe);
      resolve();
    };
    // node-tar closes once the files it started are finished, even after an error;
    // the failsafe only keeps a wedged stream from holding the coordinator forever.
    const stop = (reason: string): void => {
      if (!aborted) {
        aborted = reason;
        refuse(undefined, reason);
      }
      failsafe ??= setTimeout(settle, CLOSE_FAILSAFE_MS);
    };
    unpack.on('close', settle);
    unpack.on('error', (error: Error) => {
      stop(error.message);
      input.unpipe(unpack);
      input.destroy();
    });
    input.on('error', (error: Error) => {
      stop(`reading the archive failed: ${error.message}`);
      unpack.end();
    });
    input.pipe(unpack);
  });

  if (unlisted > 0) refused.push({ path: '(archive)', type: 'archive', reason: `${unlisted} more entries refused, not listed` });
  const { written, bytes } = await verifyWritten(cwd, accepted.map((a) => a.rel), refused);
  const result: SafeExtractResult = { written, refused, bytes };
  if (aborted) result.aborted = aborted;
  return result;
}

/**
 * Why an entry may not be written (a string), null to skip it quietly (the
 * target directory itself, as `tar -C dir .` writes), or its clean relative path.
 */
function judgeEntry(entry: ReadEntry, cwd: string, maxDepth: number, budget: number, accept?: (rel: string) => boolean): string | null | { rel: string } {
  const type = String(entry.type);
  if (type !== 'Directory' && !FILE_TYPES.has(type)) return `${TYPE_WORDS[type] ?? `unsupported entry type ${type}`}: only regular files and directories are taken`;
  const raw = String(entry.path);
  if (raw.includes('\0')) return 'nul byte in the name';
  if (raw.startsWith('/') || /^[a-zA-Z]:/.test(raw) || raw.startsWith('\\')) return 'absolute path';
  const parts = raw.split(/[\\/]+/).filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) return "'..' in the path";
  if (parts.length === 0) return null;
  if (parts.length > maxDepth) return `more than ${maxDepth} path components`;
  const rel = parts.join('/');
  if (FILE_TYPES.has(type) && (entry.size ?? 0) > budget) return `over the size limit (${entry.size} bytes, ${Math.max(0, budget)} left)`;
  const through = existingLinkOnPath(cwd, parts);
  if (through) return `${through} in the target directory is not a directory`;
  if (accept && !accept(rel)) return 'not a result file';
  return { rel };
}

/** The first parent of an entry already on disk as something other than a real directory. */
function existingLinkOnPath(cwd: string, parts: string[]): string | undefined {
  for (let i = 1; i < parts.length; i++) {
    const rel = parts.slice(0, i).join('/');
    let st: Stats;
    try {
      st = lstatSync(path.join(cwd, rel));
    } catch {
      return undefined;
    }
    if (!st.isDirectory()) return rel;
  }
  return undefined;
}

/** Keeps only what is really on disk as a regular file or directory inside the target, and counts its bytes. */
async function verifyWritten(cwd: string, rels: string[], refused: Refusal[]): Promise<{ written: string[]; bytes: number }> {
  const written: string[] = [];
  let bytes = 0;
  for (const rel of new Set(rels)) {
    const full = path.join(cwd, rel);
    const st = await lstat(full).catch(() => undefined);
    if (!st) continue;
    if (!(st.isFile() || st.isDirectory()) || !realpathSync(full).startsWith(cwd + path.sep)) {
      refused.push({ path: rel, type: 'check', reason: 'not a regular file or directory inside the target after extraction' });
      continue;
    }
    if (st.isFile()) bytes += st.size;
    written.push(rel);
  }
  return { written, bytes };
}

/** The real path of the target: it must be an existing directory, not a link to one. */
function checkTarget(targetDir: string): string {
  let st: Stats;
  try {
    st = lstatSync(targetDir);
  } catch {
    throw new KvmFarmError('KVMFARM_UNSAFE_ARCHIVE', `result directory ${targetDir} does not exist: create the scenario directory before extracting into it`);
  }
  if (!st.isDirectory()) throw new KvmFarmError('KVMFARM_UNSAFE_ARCHIVE', `result directory ${targetDir} is not a directory (a link?): refusing to extract through it`);
  return realpathSync(targetDir);
}
