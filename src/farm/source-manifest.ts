import { createHash } from 'node:crypto';
import { lstatSync, readdirSync } from 'node:fs';
import { lstat, mkdir, open, readFile, readlink } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import type { KernelTree } from '../build/kernel-tree.js';
import { walkFiles } from '../util/walk-files.js';
import { mapLimit } from '../util/map-limit.js';
import { replaceFile } from '../util/replace-file.js';

/**
 * One file of a kernel tree as a building host needs it: a regular file by its
 * content (and whether it is executable: scripts/*.sh must stay runnable), or a
 * symbolic link by its target.
 */
export interface ManifestEntry {
  path: string;
  kind: 'file' | 'exec' | 'link';
  /** sha256 of the content; for a link, its target. */
  hash: string;
}

/** A tree's content as a list of entries, named by the hash of that list. */
export interface SourceManifest {
  id: string;
  entries: ManifestEntry[];
  /** Files whose content was hashed in this call (the rest came from the memo by stat). */
  hashed: number;
  durationMs: number;
}

/** A memo row: what a file's stat looked like when its content was hashed. */
type MemoRow = [stat: string, kind: ManifestEntry['kind'], hash: string];

/**
 * The manifest of a kernel tree. Git trees list what git tracks plus untracked files
 * that are not ignored; plain trees list every file outside `.git`. Hashing 1.5 GB
 * costs seconds, so each file's hash is kept in `stateDir` beside its stat (size,
 * mtime, inode, mode) and reused while that is unchanged: an unchanged tree costs
 * one stat walk, a one-file change one file read.
 */
export async function sourceManifest(tree: KernelTree, stateDir: string): Promise<SourceManifest> {
  const started = Date.now();
  const files = tree.git ? await gitFiles(tree.dir) : walkFiles(tree.dir);
  const memoFile = manifestMemoFile(stateDir, tree.dir);
  let memo: Record<string, MemoRow> = {};
  try {
    memo = JSON.parse(await readFile(memoFile, 'utf8')) as Record<string, MemoRow>;
  } catch {
    // First time for this tree, or a damaged memo: everything is hashed.
  }
  const fresh: Record<string, MemoRow> = {};
  const entries: ManifestEntry[] = [];
  let hashed = 0;
  const pending: { rel: string; stat: string; index: number }[] = [];
  for (const rel of files) {
    let st;
    try {
      st = lstatSync(path.join(tree.dir, rel), { bigint: true });
    } catch {
      continue; // git lists a tracked file that was deleted: it is not in the tree.
    }
    if (!st.isFile() && !st.isSymbolicLink()) continue;
    const stat = `${st.size}:${st.mtimeNs}:${st.ino}:${st.mode}`;
    const row = memo[rel];
    if (row && row[0] === stat) {
      fresh[rel] = row;
      entries.push({ path: rel, kind: row[1], hash: row[2] });
    } else {
      pending.push({ rel, stat, index: entries.length });
      entries.push({ path: rel, kind: 'file', hash: '' });
    }
  }
  await mapLimit(pending, 16, async (p) => {
    const e = await describe(tree.dir, p.rel);
    entries[p.index] = e;
    fresh[p.rel] = [p.stat, e.kind, e.hash];
    hashed++;
  });
  if (hashed > 0 || Object.keys(memo).length !== Object.keys(fresh).length) {
    await mkdir(stateDir, { recursive: true });
    // Several hosts are sent the same tree at once, each computing this memo.
    await replaceFile(memoFile, JSON.stringify(fresh));
  }
  return { id: manifestId(entries), entries, hashed, durationMs: Date.now() - started };
}

/** Where a tree's per-file hashes are kept, by the tree's path. */
export function manifestMemoFile(stateDir: string, treeDir: string): string {
  return path.join(stateDir, `${createHash('sha256').update(treeDir).digest('hex').slice(0, 24)}.json`);
}

/** The name of a manifest: the same entries always give the same id. */
export function manifestId(entries: readonly ManifestEntry[]): string {
  const hash = createHash('sha256').update('kvm-farm-source-v1\n');
  for (const e of entries) hash.update(`${e.kind}\0${e.hash}\0${e.path}\0`);
  return hash.digest('hex');
}

/** The object a file entry is stored under on a host: content hash, `.x` when executable (a hard link shares its mode). */
export function objectName(entry: ManifestEntry): string {
  return entry.kind === 'exec' ? `${entry.hash}.x` : entry.hash;
}

async function describe(dir: string, rel: string): Promise<ManifestEntry> {
  const file = path.join(dir, rel);
  const st = await lstat(file);
  if (st.isSymbolicLink()) return { path: rel, kind: 'link', hash: await readlink(file) };
  const handle = await open(file, 'r');
  try {
    const hash = createHash('sha256').update(await handle.readFile()).digest('hex');
    return { path: rel, kind: (st.mode & 0o111) !== 0 ? 'exec' : 'file', hash };
  } finally {
    await handle.close();
  }
}

async function gitFiles(dir: string): Promise<string[]> {
  const out = await execa('git', ['-C', dir, 'ls-files', '-z', '--cached', '--others', '--exclude-standard'], { maxBuffer: 1 << 30 });
  return [...new Set(out.stdout.split('\0').filter((name) => name !== ''))].sort();
}

