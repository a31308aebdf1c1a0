import { utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveKernelTree, treeIdentity } from '../../src/build/kernel-tree.js';
import { isKvmFarmError } from '../../src/util/errors.js';
import { makeTree } from '../helpers/tmp-tree.js';

const FAKE_TREE = {
  Makefile: 'all:\n',
  Kconfig: 'mainmenu "x"\n',
  'arch/x86/Kconfig': '',
  'scripts/kconfig/Makefile': '',
  'kernel/rcu/tree.c': 'int x;\n',
};

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((f) => f()));
function tree(files: Record<string, string>) {
  const t = makeTree(files);
  cleanups.push(t.remove);
  return t.dir;
}

describe('resolveKernelTree', () => {
  it('accepts a directory with Makefile, Kconfig, arch/ and scripts/kconfig/', () => {
    const dir = tree(FAKE_TREE);
    expect(resolveKernelTree(dir)).toEqual({ dir, git: false });
  });

  it('throws KVMFARM_NOT_A_KERNEL_TREE naming the path and what is missing', () => {
    const dir = tree({ 'README.md': 'not a kernel\n' });
    try {
      resolveKernelTree(dir);
      expect.unreachable();
    } catch (error) {
      expect(isKvmFarmError(error) && error.code).toBe('KVMFARM_NOT_A_KERNEL_TREE');
      const message = (error as Error).message;
      expect(message).toContain(dir);
      expect(message).toContain('Makefile, Kconfig, arch, scripts/kconfig');
      expect(message.split('\n')).toHaveLength(1);
    }
  });

  it('throws the same for a path that does not exist', () => {
    expect(() => resolveKernelTree('/nonexistent/kernel')).toThrow(/nonexistent\/kernel is not a Linux kernel source tree/);
  });
});

describe('treeIdentity of a plain tree', () => {
  it('hashes content once, then reuses it while the stamp holds; an edit changes it, a touch does not', async () => {
    const dir = tree(FAKE_TREE);
    const state = tree({});
    const first = await treeIdentity(resolveKernelTree(dir), state);
    expect(first.method).toBe('content');
    const again = await treeIdentity(resolveKernelTree(dir), state);
    expect(again).toMatchObject({ id: first.id, method: 'stamp' });

    const future = new Date(Date.now() + 60_000);
    utimesSync(path.join(dir, 'kernel/rcu/tree.c'), future, future);
    const touched = await treeIdentity(resolveKernelTree(dir), state);
    expect(touched).toMatchObject({ id: first.id, method: 'content' });

    writeFileSync(path.join(dir, 'kernel/rcu/tree.c'), 'int y;\n');
    const edited = await treeIdentity(resolveKernelTree(dir), state);
    expect(edited.id).not.toBe(first.id);

    writeFileSync(path.join(dir, 'kernel/rcu/new.c'), '');
    expect((await treeIdentity(resolveKernelTree(dir), state)).id).not.toBe(edited.id);
  });
});

describe('treeIdentity of a git tree', () => {
  it('follows the commit, uncommitted edits and untracked files', async () => {
    const dir = tree(FAKE_TREE);
    const git = (...args: string[]) =>
      execa('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', '-C', dir, ...args]);
    await git('init', '-q');
    await git('add', '.');
    await git('commit', '-q', '-m', 'x');
    const state = tree({});
    const t = resolveKernelTree(dir);
    expect(t.git).toBe(true);
    const clean = await treeIdentity(t, state);
    expect(clean.method).toBe('git');
    expect((await treeIdentity(t, state)).id).toBe(clean.id);
    writeFileSync(path.join(dir, 'kernel/rcu/tree.c'), 'int z;\n');
    const dirty = await treeIdentity(t, state);
    expect(dirty.id).not.toBe(clean.id);
    writeFileSync(path.join(dir, 'kernel/rcu/extra.c'), 'int e;\n');
    const untracked = await treeIdentity(t, state);
    expect(untracked.id).not.toBe(dirty.id);
    writeFileSync(path.join(dir, 'kernel/rcu/extra.c'), 'int f;\n');
    expect((await treeIdentity(t, state)).id).not.toBe(untracked.id);
  });
});
