import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, copyFile, link, mkdir, readFile, readdir, rename, rm, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** Where everything the build stage keeps lives, under one cache root. */
export interface BuildCacheLayout {
  root: string;
  /** The static init and its cpio. */
  initramfs: string;
  /** Tree identity memos. */
  treeIds: string;
  /** Configuration results: memo key → .config text. */
  configMemo: string;
  /** `make O=` directories, one per tree and effective config. */
  objects: string;
  /** Finished kernels, one directory per cache key. */
  kernels: string;
  /** Scratch space on the same filesystem, so finished entries move in by rename. */
  tmp: string;
}

/** The cache root: the option, else $KVM_FARM_CACHE, else ~/.cache/kvm-farm. */
export function cacheLayout(cacheDir?: string, env: NodeJS.ProcessEnv = process.env): BuildCacheLayout {
  const root = path.resolve(cacheDir ?? env.KVM_FARM_CACHE ?? path.join(os.homedir(), '.cache', 'kvm-farm'));
  const build = path.join(root, 'build');
  return {
    root,
    initramfs: path.join(build, 'initramfs'),
    treeIds: path.join(build, 'tree-ids'),
    configMemo: path.join(build, 'config-memo'),
    objects: path.join(build, 'objects'),
    kernels: path.join(build, 'kernels'),
    tmp: path.join(build, 'tmp'),
  };
}

/** Files of a cache entry; an instance directory gets the same names, as rcutorture lays them out. */
export const ENTRY_FILES = {
  bootImage: 'bzImage',
  vmlinux: 'vmlinux',
  dotConfig: '.config',
  systemMap: 'System.map',
  makeOut: 'Make.out',
  release: 'kernel.release',
  meta: 'meta.json',
} as const;

/** What a cache entry records beside its files. */
export interface EntryMeta {
  cacheKey: string;
  kernelVersion: string;
  /** Name of the boot image file in the entry (`bzImage`, `Image`). */
  bootImage: string;
  warningCount: number;
  makeMs: number;
  builtAt: string;
}

export function entryDir(layout: BuildCacheLayout, key: string): string {
  return path.join(layout.kernels, key);
}

/** The entry's metadata when a complete entry exists for `key`. */
export async function readEntry(layout: BuildCacheLayout, key: string): Promise<EntryMeta | undefined> {
  try {
    return JSON.parse(await readFile(path.join(entryDir(layout, key), ENTRY_FILES.meta), 'utf8')) as EntryMeta;
  } catch {
    return undefined;
  }
}

/** A fresh directory under tmp, for an entry being assembled. */
export async function makeTempDir(layout: BuildCacheLayout, prefix: string): Promise<string> {
  const dir = path.join(layout.tmp, `${prefix}-${process.pid}-${randomBytes(4).toString('hex')}`);
  await mkdir(dir, { recursive: true });
  return dir;
}

/**
 * Moves an assembled entry into place by one rename: a killed build leaves only a
 * directory under tmp, never a half entry. Files become read-only, since run directories
 * hard-link them. If another process committed the same key first, its entry is kept.
 */
export async function commitEntry(layout: BuildCacheLayout, tempDir: string, key: string, meta: EntryMeta): Promise<void> {
  await writeFile(path.join(tempDir, ENTRY_FILES.meta), `${JSON.stringify(meta, null, 2)}\n`);
  for (const name of await readdir(tempDir)) await chmod(path.join(tempDir, name), 0o444);
  await mkdir(layout.kernels, { recursive: true });
  try {
    await rename(tempDir, entryDir(layout, key));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
    await rm(tempDir, { recursive: true, force: true });
  }
}

/** Removes what killed runs left under tmp (directories of processes that no longer exist). */
export async function sweepTemp(layout: BuildCacheLayout): Promise<void> {
  if (!existsSync(layout.tmp)) return;
  for (const name of await readdir(layout.tmp)) {
    const pid = Number(/-(\d+)-[0-9a-f]+$/.exec(name)?.[1]);
    if (Number.isInteger(pid) && pid !== process.pid && !processAlive(pid)) {
      await rm(path.join(layout.tmp, name), { recursive: true, force: true });
    }
  }
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Puts `source` at `target` as a hard link, so a run directory costs no space for a
 * 50 MB vmlinux; copies instead when the two are on different filesystems.
 * An existing target is replaced.
 */
export async function linkOrCopy(source: string, target: string): Promise<'link' | 'copy'> {
  await unlink(target).catch(() => undefined);
  try {
    await link(source, target);
    return 'link';
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'EMLINK') throw error;
    await copyFile(source, target);
    return 'copy';
  }
}

/**
 * Holds a directory for one process at a time (two kvm-farm runs building the same
 * config must not share a `make O=` directory). The lock is a directory made atomically
 * with the holder's pid inside; a lock whose holder died is taken over.
 */
export async function withDirLock<T>(dir: string, fn: () => Promise<T>, pollMs = 2000): Promise<T> {
  const lock = `${dir}.lock`;
  await mkdir(path.dirname(lock), { recursive: true });
  for (;;) {
    try {
      await mkdir(lock);
      await writeFile(path.join(lock, 'pid'), String(process.pid));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number(await readFile(path.join(lock, 'pid'), 'utf8').catch(() => 'NaN'));
      if (Number.isInteger(holder) && !processAlive(holder)) {
        await rm(lock, { recursive: true, force: true });
        continue;
      }
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}
