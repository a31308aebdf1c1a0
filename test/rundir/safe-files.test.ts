import { execFileSync } from 'node:child_process';
import { lstatSync, mkdirSync, readFileSync, readlinkSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { printable } from '../../src/util/printable.js';
import { readTextInside, regularFileInside } from '../../src/rundir/safe-read.js';
import { appendInside, mkdirInside, placeInside, writeInside } from '../../src/rundir/safe-write.js';
import { makeTree } from '../helpers/tmp-tree.js';

let trees: { dir: string; remove: () => void }[] = [];
afterEach(() => {
  for (const t of trees) t.remove();
  trees = [];
});
function tree(files: Record<string, string>) {
  const t = makeTree(files);
  trees.push(t);
  return t.dir;
}

describe('readTextInside', () => {
  it('reads a regular file, and says undefined for a missing one', () => {
    const run = tree({ 'A/qemu-cmd': 'x\n' });
    expect(readTextInside(run, 'A/qemu-cmd')).toBe('x\n');
    expect(readTextInside(run, 'A/nope')).toBeUndefined();
  });

  it('refuses a FIFO at once instead of blocking', () => {
    const run = tree({});
    execFileSync('mkfifo', [path.join(run, 'CFLIST')]);
    expect(() => readTextInside(run, 'CFLIST')).toThrow(/CFLIST is a FIFO, not a regular file/);
  });

  it('refuses links out of the directory (a secret, /dev/zero) and names out with ..', () => {
    const secret = tree({ shadow: 'root:secret\n' });
    const run = tree({});
    symlinkSync(path.join(secret, 'shadow'), path.join(run, 'frag'));
    symlinkSync('/dev/zero', path.join(run, 'console.log'));
    expect(() => readTextInside(run, 'frag')).toThrow(/leads outside/);
    expect(() => readTextInside(run, 'console.log')).toThrow(/leads outside/);
    expect(() => readTextInside(run, '../x')).toThrow(/leads outside/);
    try {
      readTextInside(run, 'frag');
    } catch (error) {
      expect((error as Error).message).not.toContain('secret');
    }
  });

  it('follows a link that stays inside, and refuses a directory or a file over the limit, naming the limit', () => {
    const run = tree({ 'A/real': 'inside\n', big: 'x'.repeat(100) });
    symlinkSync('real', path.join(run, 'A/link'));
    mkdirSync(path.join(run, 'A/dir'));
    expect(readTextInside(run, 'A/link')).toBe('inside\n');
    expect(() => readTextInside(run, 'A/dir')).toThrow(/is a directory, not a regular file/);
    expect(() => readTextInside(run, 'big', 10)).toThrow(/100 bytes, over the limit of 10/);
    expect(regularFileInside(run, 'A/link')?.size).toBe(7);
  });
});

describe('writing into a run directory', () => {
  it('replaces a planted symlink instead of writing through it', () => {
    const outside = tree({ target: 'untouched\n' });
    const run = tree({});
    symlinkSync(path.join(outside, 'target'), path.join(run, 'summary.json'));
    writeInside(run, 'summary.json', '{}\n');
    expect(readFileSync(path.join(outside, 'target'), 'utf8')).toBe('untouched\n');
    expect(lstatSync(path.join(run, 'summary.json')).isFile()).toBe(true);
  });

  it('refuses a symlinked instance directory, .. names, and appends through no link', () => {
    const outside = tree({ log: 'x\n' });
    const run = tree({});
    symlinkSync(outside, path.join(run, 'TREE01'));
    expect(() => writeInside(run, 'TREE01/verdict.json', '{}')).toThrow(/leads outside/);
    expect(() => writeInside(run, '../ESCAPED', 'x')).toThrow(/leads outside/);
    expect(() => mkdirInside(run, '../ESCAPED')).toThrow(/leads outside/);
    symlinkSync(path.join(outside, 'log'), path.join(run, 'log'));
    expect(() => appendInside(run, 'log', 'more\n')).toThrow(/cannot write/);
    expect(readFileSync(path.join(outside, 'log'), 'utf8')).toBe('x\n');
  });

  it('places only regular files of the source run, by the mode asked', () => {
    const secret = tree({ key: 'secret' });
    const from = tree({ 'A/bzImage': 'kernel' });
    symlinkSync(path.join(secret, 'key'), path.join(from, 'A/vmlinux'));
    const to = tree({});
    mkdirSync(path.join(to, 'A'));
    placeInside(from, 'A/bzImage', to, 'A/bzImage', 'copy');
    placeInside(from, 'A/bzImage', to, 'A/soft', 'soft');
    expect(readFileSync(path.join(to, 'A/bzImage'), 'utf8')).toBe('kernel');
    expect(readlinkSync(path.join(to, 'A/soft'))).toBe(path.join(from, 'A/bzImage'));
    expect(() => placeInside(from, 'A/vmlinux', to, 'A/vmlinux', 'copy')).toThrow(/leads outside/);
  });
});

describe('printable', () => {
  it('escapes control, C1 and bidi characters and bounds the length', () => {
    expect(printable('a\x1b[31mb\nc\x9b\u202e')).toBe('a\\x1b[31mb\\nc\\x9b\\u202e');
    const long = printable('y'.repeat(50_000_000));
    expect(long.length).toBeLessThan(260);
    expect(long).toMatch(/50000000 characters, cut/);
  });
});
