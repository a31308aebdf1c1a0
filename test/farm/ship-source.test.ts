import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalHost } from '../../src/transport/index.js';
import { sourceManifest, type SourceManifest } from '../../src/farm/source-manifest.js';
import { planSourceShip } from '../../src/farm/source-plan.js';
import { remoteTree, shipSource, sourceRoot } from '../../src/farm/ship-source.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
function tmp(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kvmfarm-src-test-'));
  dirs.push(dir);
  return dir;
}

function writeTree(dir: string, files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), text);
  }
}

const FILES = {
  Makefile: 'all:\n',
  'init/main.c': 'int main(void) { return 0; }\n',
  'init/copy-of-main.c': 'int main(void) { return 0; }\n',
  'scripts/run.sh': '#!/bin/sh\necho ok\n',
  [`deep/${'d'.repeat(90)}/${'f'.repeat(90)}.h`]: '/* a path longer than ustar holds */\n',
};

describe('sourceManifest', () => {
  it('names a tree by content: same content same id, a changed byte a new id, hashes reused by stat', async () => {
    const tree = tmp();
    const state = tmp();
    writeTree(tree, FILES);
    const first = await sourceManifest({ dir: tree, git: false }, state);
    expect(first.entries.map((e) => e.path)).toContain('init/main.c');
    expect(first.hashed).toBe(5);
    const again = await sourceManifest({ dir: tree, git: false }, state);
    expect(again).toMatchObject({ id: first.id, hashed: 0 });
    writeFileSync(path.join(tree, 'init/main.c'), 'int main(void) { return 1; }\n');
    const changed = await sourceManifest({ dir: tree, git: false }, state);
    expect(changed.hashed).toBe(1);
    expect(changed.id).not.toBe(first.id);
  });

  it('computed several times at once on a cold memo (one per host being sent the tree) gives one id', async () => {
    const tree = tmp();
    const state = tmp();
    writeTree(tree, FILES);
    const all = await Promise.all([1, 2, 3, 4].map(() => sourceManifest({ dir: tree, git: false }, state)));
    expect(new Set(all.map((m) => m.id)).size).toBe(1);
    expect((await sourceManifest({ dir: tree, git: false }, state)).hashed).toBe(0);
  });

  it('lists a git tree by what git tracks and untracked files that are not ignored', async () => {
    const tree = tmp();
    writeTree(tree, { ...FILES, '.gitignore': 'built.o\n', 'built.o': 'object', 'new.c': 'untracked' });
    const git = (...args: string[]) => execa('git', ['-C', tree, ...args]);
    await git('init', '-q');
    await git('add', 'Makefile', 'init', '.gitignore');
    await git('-c', 'user.email=t@t', '-c', 'user.name=t', 'commit', '-qm', 'x');
    const m = await sourceManifest({ dir: tree, git: true }, tmp());
    const paths = m.entries.map((e) => e.path);
    expect(paths).toContain('new.c');
    expect(paths).toContain('init/main.c');
    expect(paths).not.toContain('built.o');
    expect(paths.some((p) => p.startsWith('.git/'))).toBe(false);
  });
});

describe('planSourceShip', () => {
  const m = (id: string, entries: [string, string][]) => ({ id, entries: entries.map(([p, h]) => ({ path: p, kind: 'file' as const, hash: h.repeat(64) })) });
  it('sends nothing for a tree the host holds', () => {
    expect(planSourceShip(m('t1', [['a', '1']]), { trees: new Set(['t1']), objects: new Set() }, new Map())).toMatchObject({ held: true, objects: [], add: [] });
  });
  it('sends each missing content once and, against the closest held tree, only the names that changed', () => {
    const old = m('t1', [['a', '1'], ['b', '2'], ['c', '3']]);
    const next = m('t2', [['a', '1'], ['b', '4'], ['d', '4']]);
    const plan = planSourceShip(next, { trees: new Set(['t1', 't0']), objects: new Set(['1'.repeat(64), '2'.repeat(64), '3'.repeat(64)]) },
      new Map([['t1', old.entries], ['t0', m('t0', [['z', '9']]).entries]]));
    expect(plan).toMatchObject({ held: false, base: 't1', remove: ['b', 'c'] });
    expect(plan.add.map((e) => e.path)).toEqual(['b', 'd']);
    expect(plan.objects.map((e) => e.hash)).toEqual(['4'.repeat(64)]);
  });
  it('without a known base sends every entry and every object the host lacks', () => {
    const plan = planSourceShip(m('t2', [['a', '1'], ['b', '2']]), { trees: new Set(['t9']), objects: new Set(['1'.repeat(64)]) }, new Map());
    expect(plan.base).toBeUndefined();
    expect(plan.add).toHaveLength(2);
    expect(plan.objects.map((e) => e.hash)).toEqual(['2'.repeat(64)]);
  });
});

describe('shipSource (to this machine through LocalHost: the same script ssh runs)', () => {
  async function setUp(): Promise<{ tree: string; state: string; paths: ReturnType<typeof sourceRoot>; host: LocalHost; manifest: () => Promise<SourceManifest> }> {
    const tree = tmp();
    const state = tmp();
    writeTree(tree, FILES);
    chmodSync(path.join(tree, 'scripts/run.sh'), 0o755);
    symlinkSync('main.c', path.join(tree, 'init/link.c'));
    return { tree, state, paths: sourceRoot(path.join(tmp(), 'remote dir')), host: new LocalHost(), manifest: () => sourceManifest({ dir: tree, git: false }, state) };
  }

  it('materializes the tree (content, exec bits, symlinks, long names), then ships 0 bytes for it and little for a one-file change', async () => {
    const s = await setUp();
    const m1 = await s.manifest();
    const first = await shipSource(s.host, s.paths, m1, { stateDir: s.state, treeDir: s.tree, timeoutMs: 30_000 });
    const there = remoteTree(s.paths, m1.id);
    expect(first.tree).toBe(there);
    for (const [name, text] of Object.entries(FILES)) expect(readFileSync(path.join(there, name), 'utf8'), name).toBe(text);
    expect(statSync(path.join(there, 'scripts/run.sh')).mode & 0o111).not.toBe(0);
    expect(statSync(path.join(there, 'init/main.c')).mode & 0o111).toBe(0);
    expect(readlinkSync(path.join(there, 'init/link.c'))).toBe('main.c');
    // Same content, one object: both names are links to it.
    expect(statSync(path.join(there, 'init/main.c')).ino).toBe(statSync(path.join(there, 'init/copy-of-main.c')).ino);
    expect(first.objects).toBe(4);

    const second = await shipSource(s.host, s.paths, await s.manifest(), { stateDir: s.state, treeDir: s.tree, timeoutMs: 30_000 });
    expect(second.bytes).toBe(0);

    writeFileSync(path.join(s.tree, 'init/main.c'), 'int main(void) { return 2; }\n');
    rmSync(path.join(s.tree, 'Makefile'));
    const m3 = await s.manifest();
    const third = await shipSource(s.host, s.paths, m3, { stateDir: s.state, treeDir: s.tree, timeoutMs: 30_000 });
    expect(third).toMatchObject({ base: m1.id, objects: 1 });
    expect(third.bytes).toBeLessThan(8 * 1024);
    const now = remoteTree(s.paths, m3.id);
    expect(readFileSync(path.join(now, 'init/main.c'), 'utf8')).toContain('return 2');
    expect(readFileSync(path.join(now, 'init/copy-of-main.c'), 'utf8')).toContain('return 0');
    expect(() => lstatSync(path.join(now, 'Makefile'))).toThrow();
    // The old tree is intact: the new one was made beside it.
    expect(readFileSync(path.join(there, 'init/main.c'), 'utf8')).toContain('return 0');
  });

  it('sends one tree to several hosts at once', async () => {
    const s = await setUp();
    const m = await s.manifest();
    const roots = [sourceRoot(path.join(tmp(), 'h1')), sourceRoot(path.join(tmp(), 'h2')), sourceRoot(path.join(tmp(), 'h3'))];
    const sent = await Promise.all(roots.map((r) => shipSource(s.host, r, m, { stateDir: s.state, treeDir: s.tree, timeoutMs: 30_000 })));
    for (const r of sent) expect(readFileSync(path.join(r.tree, 'Makefile'), 'utf8')).toBe('all:\n');
  });

  it('loses nothing when the host takes its time to start the receiver', async () => {
    const s = await setUp();
    const m = await s.manifest();
    // An ssh channel opens a while after it is asked for: nothing may flow before it is there.
    const slow = new LocalHost();
    const spawn = slow.spawn.bind(slow);
    slow.spawn = async (words, options) => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      return spawn(words, options);
    };
    const sent = await shipSource(slow, s.paths, m, { stateDir: s.state, treeDir: s.tree, timeoutMs: 30_000 });
    for (const [name, text] of Object.entries(FILES)) expect(readFileSync(path.join(sent.tree, name), 'utf8'), name).toBe(text);
  });

  it('refuses an object whose content does not hash to its name, and leaves no tree', async () => {
    const s = await setUp();
    const m = await s.manifest();
    const bad: SourceManifest = { ...m, id: 'f'.repeat(64), entries: m.entries.map((e) => (e.path === 'Makefile' ? { ...e, hash: 'e'.repeat(64) } : e)) };
    await expect(shipSource(s.host, s.paths, bad, { stateDir: s.state, treeDir: s.tree, timeoutMs: 30_000 })).rejects.toThrow(/hashes to/);
    expect(() => lstatSync(remoteTree(s.paths, bad.id))).toThrow();
  });
});
