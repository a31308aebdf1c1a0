import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, realpathSync } from 'node:fs';
import { lstat, mkdir, open, readFile, readlink } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { KvmFarmError } from '../util/errors.js';
import { walkFiles } from '../util/walk-files.js';
import { mapLimit } from '../util/map-limit.js';
import { replaceFile } from '../util/replace-file.js';

/** A directory that holds a Linux kernel source tree. */
export interface KernelTree {
  /** Absolute, symlink-resolved path of the tree. */
  dir: string;
  /** Whether the tree is a git work tree (identity from the commit and the diff). */
  git: boolean;
}

const MARKERS = ['Makefile', 'Kconfig', 'arch', 'scripts/kconfig'];

/**
 * Checks that `dir` is the top of a kernel source tree (Makefile, Kconfig, arch/ and
 * scripts/kconfig/ all present) and says whether it is a git work tree.
 */
export function resolveKernelTree(dir: string): KernelTree {
  const absolute = path.resolve(dir);
  const missing = MARKERS.filter((name) => !existsSync(path.join(absolute, name)));
  if (missing.length > 0) {
    throw new KvmFarmError(
      'KVMFARM_NOT_A_KERNEL_TREE',
      `${absolute} is not a Linux kernel source tree (no ${missing.join(', ')}): pass the top of a kernel tree with --kernel-dir`,
    );
  }
  const real = realpathSync(absolute);
  return { dir: real, git: existsSync(path.join(real, '.git')) };
}

/** What identifies a tree's content, and how long working it out took. */
export interface TreeIdentity {
  /** sha256 hex that changes whenever a source file changes. */
  id: string;
  /** How it was computed: git commit plus diff, a fresh content hash, or a content hash reused by stamp. */
  method: 'git' | 'content' | 'stamp';
  durationMs: number;
}

/**
 * Identity of a tree's content, for the build cache key.
 *
 * Git trees: HEAD's commit, `git diff HEAD` and the content of untracked, not-ignored
 * files. Other trees: a sha256 over every file's relative path and content (symlinks by
 * their target). Reading ~80k files costs seconds, so the content hash is kept in
 * `stateDir` next to a stamp (a hash of every file's path, size and mtime) and reused
 * while the stamp is unchanged: the usual cost is one stat walk. A touch with no change
 * of content recomputes the hash but gives the same identity, so nothing rebuilds.
 */
export async function treeIdentity(tree: KernelTree, stateDir: string): Promise<TreeIdentity> {
  const started = Date.now();
  if (tree.git) {
    const id = await gitIdentity(tree.dir);
    return { id, method: 'git', durationMs: Date.now() - started };
  }
  const { files, stamp } = walkTree(tree.dir);
  const memoFile = path.join(stateDir, `${sha256(tree.dir).slice(0, 24)}.json`);
  try {
    const memo = JSON.parse(await readFile(memoFile, 'utf8')) as { stamp?: string; id?: string };
    if (memo.stamp === stamp && typeof memo.id === 'string') {
      return { id: memo.id, method: 'stamp', durationMs: Date.now() - started };
    }
  } catch {
    // No memo yet, or a damaged one: compute afresh.
  }
  const id = await contentHash(tree.dir, files);
  await mkdir(stateDir, { recursive: true });
  await replaceFile(memoFile, JSON.stringify({ dir: tree.dir, stamp, id }));
  return { id, method: 'content', durationMs: Date.now() - started };
}

async function gitIdentity(dir: string): Promise<string> {
  const git = (args: string[]) =>
    execa('git', ['-C', dir, ...args], { stripFinalNewline: false, maxBuffer: 1 << 30 });
  const head = (await git(['rev-parse', 'HEAD'])).stdout.trim();
  const diff = (await git(['diff', '--no-ext-diff', '--binary', 'HEAD'])).stdout;
  const untracked = (await git(['ls-files', '-z', '--others', '--exclude-standard'])).stdout
    .split('\0')
    .filter((name) => name !== '')
    .sort();
  const hash = createHash('sha256').update(`${head}\n`).update(diff);
  for (const name of untracked) {
    hash.update(`\0${name}\0`);
    hash.update(await fileDigest(path.join(dir, name)));
  }
  return hash.digest('hex');
}

/**
 * Every non-directory entry under `dir` (as walkFiles lists them) and a stamp over
 * each one's path, size, mtime and inode.
 */
function walkTree(dir: string): { files: string[]; stamp: string } {
  const files = walkFiles(dir);
  const hash = createHash('sha256');
  for (const child of files) {
    const st = lstatSync(path.join(dir, child), { bigint: true });
    hash.update(`${child}\0${st.size}\0${st.mtimeNs}\0${st.ino}\n`);
  }
  return { files, stamp: hash.digest('hex') };
}

async function contentHash(dir: string, files: string[]): Promise<string> {
  const digests = await mapLimit(files, 32, (rel) => fileDigest(path.join(dir, rel)));
  const hash = createHash('sha256');
  files.forEach((rel, i) => hash.update(`${rel}\0${digests[i]!}\n`));
  return hash.digest('hex');
}

async function fileDigest(file: string): Promise<string> {
  const st = await lstat(file);
  if (st.isSymbolicLink()) return `link:${await readlink(file)}`;
  if (!st.isFile()) return `type:${st.mode}`;
  const handle = await open(file, 'r');
  try {
    return sha256(await handle.readFile());
  } finally {
    await handle.close();
  }
}

export function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
