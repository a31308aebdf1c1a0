import { existsSync, readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cacheLayout, commitEntry, linkOrCopy, makeTempDir, readEntry, sweepTemp, withDirLock, type EntryMeta } from '../../src/build/store.js';
import { makeTree } from '../helpers/tmp-tree.js';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((f) => f()));
function tmp() {
  const t = makeTree({});
  cleanups.push(t.remove);
  return t.dir;
}
const meta = (key: string): EntryMeta => ({ cacheKey: key, kernelVersion: '6.1.0', bootImage: 'bzImage', warningCount: 0, makeMs: 1, builtAt: 'now' });

describe('cacheLayout', () => {
  it('uses the option, then KVM_FARM_CACHE, then ~/.cache/kvm-farm', () => {
    expect(cacheLayout('/a').kernels).toBe('/a/build/kernels');
    expect(cacheLayout(undefined, { KVM_FARM_CACHE: '/b' }).root).toBe('/b');
    expect(cacheLayout(undefined, {}).root).toMatch(/\.cache\/kvm-farm$/);
  });
});

describe('cache entries', () => {
  it('appear whole by rename, read-only, and a second commit of the same key keeps the first', async () => {
    const layout = cacheLayout(tmp());
    expect(await readEntry(layout, 'k')).toBeUndefined();
    const first = await makeTempDir(layout, 'entry');
    writeFileSync(path.join(first, 'bzImage'), 'one');
    await commitEntry(layout, first, 'k', meta('k'));
    expect(existsSync(first)).toBe(false);
    expect(await readEntry(layout, 'k')).toMatchObject({ cacheKey: 'k' });
    expect(statSync(path.join(layout.kernels, 'k', 'bzImage')).mode & 0o222).toBe(0);

    const second = await makeTempDir(layout, 'entry');
    writeFileSync(path.join(second, 'bzImage'), 'two');
    await commitEntry(layout, second, 'k', meta('k'));
    expect(readFileSync(path.join(layout.kernels, 'k', 'bzImage'), 'utf8')).toBe('one');
    expect(existsSync(second)).toBe(false);
  });

  it('sweeps temp directories of dead processes only', async () => {
    const layout = cacheLayout(tmp());
    const mine = await makeTempDir(layout, 'entry');
    const dead = path.join(layout.tmp, 'entry-999999999-abcd');
    mkdirSync(dead);
    await sweepTemp(layout);
    expect(existsSync(mine)).toBe(true);
    expect(existsSync(dead)).toBe(false);
  });
});

describe('linkOrCopy', () => {
  it('hard-links, replacing an existing target', async () => {
    const dir = tmp();
    writeFileSync(path.join(dir, 'a'), 'data');
    writeFileSync(path.join(dir, 'b'), 'old');
    expect(await linkOrCopy(path.join(dir, 'a'), path.join(dir, 'b'))).toBe('link');
    expect(statSync(path.join(dir, 'b')).ino).toBe(statSync(path.join(dir, 'a')).ino);
  });

  it('copies across filesystems', async () => {
    const dir = tmp();
    writeFileSync(path.join(dir, 'a'), 'data');
    // Debian mounts a tmpfs on /dev/shm: another filesystem than the test's.
    const other = '/dev/shm';
    expect(statSync(other).dev, `${other} must be a filesystem apart from ${dir}`).not.toBe(statSync(dir).dev);
    const target = path.join(other, `kvmfarm-link-test-${process.pid}`);
    try {
      expect(await linkOrCopy(path.join(dir, 'a'), target)).toBe('copy');
      expect(readFileSync(target, 'utf8')).toBe('data');
    } finally {
      await import('node:fs/promises').then((fs) => fs.rm(target, { force: true }));
    }
  });
});

describe('withDirLock', () => {
  it('runs holders one at a time and takes over a lock whose holder died', async () => {
    const dir = path.join(tmp(), 'objs');
    const order: string[] = [];
    const hold = (name: string) =>
      withDirLock(dir, async () => {
        order.push(`${name}+`);
        await new Promise((r) => setTimeout(r, 30));
        order.push(`${name}-`);
      }, 10);
    await Promise.all([hold('a'), hold('b')]);
    // Either may win the lock; what matters is that the other starts only after the winner ended.
    expect([['a+', 'a-', 'b+', 'b-'], ['b+', 'b-', 'a+', 'a-']]).toContainEqual(order);

    mkdirSync(`${dir}.lock`);
    writeFileSync(path.join(`${dir}.lock`, 'pid'), '999999999');
    expect(await withDirLock(dir, async () => 'taken', 10)).toBe('taken');
    expect(existsSync(`${dir}.lock`)).toBe(false);
  });
});
