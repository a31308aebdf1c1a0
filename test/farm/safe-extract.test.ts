import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { Header, type HeaderData } from 'tar';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { safeExtract } from '../../src/farm/safe-extract.js';
import { requireReal } from '../helpers/require.js';

interface RawEntry extends HeaderData {
  body?: string | Buffer;
}

/** A tar archive written header by header, so it can hold anything a hostile host could send. */
function rawTar(entries: RawEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const { body, ...data } of entries) {
    const content = body === undefined ? Buffer.alloc(0) : Buffer.from(body);
    const header = new Header({ mode: 0o644, uid: 0, gid: 0, mtime: new Date(0), type: 'File', ...data, size: data.size ?? content.length });
    const block = Buffer.alloc(512);
    header.encode(block, 0);
    blocks.push(block, content, Buffer.alloc((512 - (content.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

/** Every path under dir with its kind and content hash: what "unchanged" means here. */
function snapshot(dir: string, skip?: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const full = path.join(d, name);
      if (full === skip) continue;
      const st = lstatSync(full);
      const rel = path.relative(dir, full);
      if (st.isSymbolicLink()) out[rel] = `link ${readlinkSync(full)}`;
      else if (st.isDirectory()) {
        out[rel] = `dir ${(st.mode & 0o7777).toString(8)}`;
        walk(full);
      } else if (st.isFile()) out[rel] = `file ${(st.mode & 0o7777).toString(8)} ${createHash('sha256').update(readFileSync(full)).digest('hex')}`;
      // Never open a fifo or device: reading one blocks or has effects.
      else out[rel] = `special ${st.mode.toString(8)} ${st.rdev}`;
    }
  };
  walk(dir);
  return out;
}

let root: string;
let parent: string;
let target: string;
let sibling: string;

beforeEach(() => {
  // root/run/TREE01 is the target; root/run/TREE02 a sibling scenario, root/run the parent.
  root = mkdtempSync(path.join(os.tmpdir(), 'kvmfarm-extract-'));
  parent = path.join(root, 'run');
  target = path.join(parent, 'TREE01');
  sibling = path.join(parent, 'TREE02');
  mkdirSync(target, { recursive: true });
  mkdirSync(sibling);
  writeFileSync(path.join(sibling, 'console.log'), 'sibling console\n');
  writeFileSync(path.join(parent, 'log'), 'run log\n');
  writeFileSync(path.join(root, 'outside'), 'outside\n');
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function outsideSnapshot(): Record<string, string> {
  return snapshot(root, target);
}

describe('safeExtract', () => {
  it('writes ordinary results and lists them', async () => {
    const tar = rawTar([
      { path: './', type: 'Directory', mode: 0o755 },
      { path: 'console.log', body: 'Linux version 6.1\nEnd of test: SUCCESS\n' },
      { path: 'sub/', type: 'Directory', mode: 0o755 },
      { path: 'sub/qemu-retval', body: '0\n' },
    ]);
    const result = await safeExtract(Readable.from([tar]), target);
    expect(result).toEqual({ written: ['console.log', 'sub', 'sub/qemu-retval'], refused: [], bytes: 41 });
    expect(readFileSync(path.join(target, 'sub/qemu-retval'), 'utf8')).toBe('0\n');
  });

  it('reads a gzipped archive from a file path too', async () => {
    const file = path.join(root, 'r.tar.gz');
    writeFileSync(file, gzipSync(rawTar([{ path: 'console.log', body: 'x\n' }])));
    expect((await safeExtract(file, target)).written).toEqual(['console.log']);
  });

  it('refuses ../ entries and absolute paths and writes nothing outside', async () => {
    const before = outsideSnapshot();
    const tar = rawTar([
      { path: '../TREE02/console.log', body: 'overwritten\n' },
      { path: '../../outside', body: 'overwritten\n' },
      { path: 'a/../../log', body: 'overwritten\n' },
      { path: `${sibling}/console.log`, body: 'overwritten\n' },
      { path: '/etc/kvmfarm-pwned', body: 'x\n' },
      { path: 'console.log', body: 'fine\n' },
    ]);
    const result = await safeExtract(Readable.from([tar]), target);
    expect(outsideSnapshot()).toEqual(before);
    expect(result.written).toEqual(['console.log']);
    expect(result.refused.map((r) => [r.path, r.reason])).toEqual([
      ['../TREE02/console.log', "'..' in the path"],
      ['../../outside', "'..' in the path"],
      ['a/../../log', "'..' in the path"],
      [`${sibling}/console.log`, 'absolute path'],
      ['/etc/kvmfarm-pwned', 'absolute path'],
    ]);
    // Stripping the slash would have put them inside; refusing puts nothing anywhere.
    expect(readdirSync(target)).toEqual(['console.log']);
    expect(() => statSync('/etc/kvmfarm-pwned')).toThrow();
  });

  it('refuses a symlink pointing outside and a file written through it', async () => {
    const before = outsideSnapshot();
    const tar = rawTar([
      { path: 'escape', type: 'SymbolicLink', linkpath: '../TREE02' },
      { path: 'escape/console.log', body: 'through the link\n' },
      { path: 'abs', type: 'SymbolicLink', linkpath: root },
      { path: 'abs/outside', body: 'through the link\n' },
    ]);
    const result = await safeExtract(Readable.from([tar]), target);
    expect(outsideSnapshot()).toEqual(before);
    expect(result.refused.map((r) => [r.path, r.type])).toEqual([['escape', 'SymbolicLink'], ['abs', 'SymbolicLink']]);
    expect(result.refused[0]!.reason).toMatch(/^symbolic link: only regular files and directories/);
    // With the links refused, the files land in plain directories inside the target.
    expect(lstatSync(path.join(target, 'escape')).isDirectory()).toBe(true);
    expect(readFileSync(path.join(target, 'escape/console.log'), 'utf8')).toBe('through the link\n');
    expect(result.written).toEqual(['escape/console.log', 'abs/outside']);
  });

  it('refuses a hard link to /etc/passwd, devices and fifos', async () => {
    const passwd = readFileSync('/etc/passwd');
    const before = outsideSnapshot();
    const tar = rawTar([
      { path: 'passwd', type: 'Link', linkpath: '/etc/passwd' },
      { path: 'sib', type: 'Link', linkpath: '../TREE02/console.log' },
      { path: 'null', type: 'CharacterDevice', devmaj: 1, devmin: 3 },
      { path: 'sda', type: 'BlockDevice', devmaj: 8, devmin: 0 },
      { path: 'fifo', type: 'FIFO' },
    ]);
    const result = await safeExtract(Readable.from([tar]), target);
    expect(result.written).toEqual([]);
    expect(result.refused.map((r) => r.reason.split(':')[0])).toEqual(['hard link', 'hard link', 'character device', 'block device', 'fifo']);
    expect(readdirSync(target)).toEqual([]);
    expect(readFileSync('/etc/passwd')).toEqual(passwd);
    expect(outsideSnapshot()).toEqual(before);
  });

  it('never writes through links already in the scenario directory (kvm-again soft and hard links)', async () => {
    // A kvm-again rerun links the original run's kernel in: a result named like it must not reach the original.
    symlinkSync(path.join(sibling, 'console.log'), path.join(target, 'bzImage'));
    linkSync(path.join(sibling, 'console.log'), path.join(target, 'vmlinux'));
    symlinkSync(sibling, path.join(target, 'linked-dir'));
    const before = outsideSnapshot();
    const tar = rawTar([
      { path: 'bzImage', body: 'evil kernel\n' },
      { path: 'vmlinux', body: 'evil vmlinux\n' },
      { path: 'linked-dir/console.log', body: 'through a dir link\n' },
    ]);
    const result = await safeExtract(Readable.from([tar]), target);
    expect(outsideSnapshot()).toEqual(before);
    expect(readFileSync(path.join(sibling, 'console.log'), 'utf8')).toBe('sibling console\n');
    expect(result.written).toEqual(['bzImage', 'vmlinux']);
    expect(lstatSync(path.join(target, 'bzImage')).isFile()).toBe(true);
    expect(lstatSync(path.join(target, 'vmlinux')).nlink).toBe(1);
    expect(result.refused).toEqual([{ path: 'linked-dir/console.log', type: 'File', reason: 'linked-dir in the target directory is not a directory' }]);
  });

  it('drops setuid bits and remote ownership', async () => {
    const tar = rawTar([{ path: 'run-me', body: '#!/bin/sh\n', mode: 0o6777, uid: 4242, gid: 4242 }, { path: 'd/', type: 'Directory', mode: 0o1777 }]);
    await safeExtract(Readable.from([tar]), target);
    const st = statSync(path.join(target, 'run-me'));
    expect(st.mode & 0o7777).toBe(0o644 & ~process.umask());
    expect(statSync(path.join(target, 'd')).mode & 0o7000).toBe(0);
    // Whoever unpacks owns the files, never the remote's uid.
    expect(st.uid).toBe(process.getuid!());
  });

  it('keeps to the size limit, refusing what would pass it', async () => {
    const tar = rawTar([
      { path: 'a', body: Buffer.alloc(600, 97) },
      { path: 'b', body: Buffer.alloc(600, 98) },
      { path: 'c', body: Buffer.alloc(300, 99) },
    ]);
    const result = await safeExtract(Readable.from([tar]), target, { maxBytes: 1000 });
    expect(result.written).toEqual(['a', 'c']);
    expect(result.bytes).toBe(900);
    expect(result.refused).toEqual([{ path: 'b', type: 'File', reason: 'over the size limit (600 bytes, 400 left)' }]);
    expect(() => statSync(path.join(target, 'b'))).toThrow();
  });

  it('abandons an archive with too many entries', async () => {
    const tar = rawTar(Array.from({ length: 20 }, (_, i) => ({ path: `f${i}`, body: 'x' })));
    const result = await safeExtract(Readable.from([tar]), target, { maxEntries: 5 });
    expect(result.aborted).toBe('more than 5 entries');
    expect(result.written).toEqual(['f0', 'f1', 'f2', 'f3', 'f4']);
  });

  it('applies an accept rule, depth limit, and skips the directory itself', async () => {
    const tar = rawTar([
      { path: '.', type: 'Directory', mode: 0o777 },
      { path: 'console.log', body: 'x' },
      { path: 'authorized_keys', body: 'x' },
      { path: 'a/b/c/d/e/f/g/h/i/j', body: 'x' },
    ]);
    chmodSync(target, 0o750);
    const result = await safeExtract(Readable.from([tar]), target, { accept: (rel) => rel.startsWith('console.log') || rel.startsWith('a/') });
    expect(result.written).toEqual(['console.log']);
    expect(result.refused.map((r) => r.reason)).toEqual(['not a result file', 'more than 8 path components']);
    expect(statSync(target).mode & 0o777).toBe(0o750);
  });

  it('keeps what a truncated archive delivered and says it was cut short', async () => {
    const whole = rawTar([{ path: 'console.log', body: Buffer.alloc(2000, 120) }]);
    const result = await safeExtract(Readable.from([whole.subarray(0, 1024)]), target);
    // A lost host's partial console is still worth keeping.
    expect(result.written).toEqual(['console.log']);
    expect(result.bytes).toBe(512);
    expect(result.aborted).toMatch(/^TAR_BAD_ARCHIVE: Truncated input/);
  });

  it('lists at most 100 refusals of a garbage stream, then counts', async () => {
    const junk = rawTar(Array.from({ length: 150 }, (_, i) => ({ path: `l${i}`, type: 'SymbolicLink' as const, linkpath: '/' })));
    const result = await safeExtract(Readable.from([junk]), target);
    expect(result.refused).toHaveLength(101);
    expect(result.refused[100]).toEqual({ path: '(archive)', type: 'archive', reason: '50 more entries refused, not listed' });
    const garbage = await safeExtract(Readable.from([Buffer.alloc(4096, 7)]), target);
    expect(garbage.written).toEqual([]);
    expect(garbage.aborted).toBe('TAR_BAD_ARCHIVE: Unrecognized archive format');
  });

  it('stops when the input stream fails, keeping the files already whole', async () => {
    const first = rawTar([{ path: 'console.log', body: 'done\n' }]).subarray(0, 1024);
    const failing = new Readable({ read() {} });
    failing.push(first);
    setTimeout(() => failing.destroy(new Error('channel closed')), 20);
    const result = await safeExtract(failing, target);
    expect(result.aborted).toBe('reading the archive failed: channel closed');
    expect(result.written).toEqual(['console.log']);
    expect(readFileSync(path.join(target, 'console.log'), 'utf8')).toBe('done\n');
  });

  it('refuses a target that is a link or missing', async () => {
    symlinkSync(sibling, path.join(parent, 'TREE03'));
    await expect(safeExtract(Readable.from([rawTar([])]), path.join(parent, 'TREE03'))).rejects.toThrow(/is not a directory \(a link\?\)/);
    await expect(safeExtract(Readable.from([rawTar([])]), path.join(parent, 'TREE09'))).rejects.toThrow(/does not exist/);
  });
});

describe('safeExtract refusals from hostile names', () => {
  it('are printable on one line', async () => {
    const result = await safeExtract(Readable.from([rawTar([{ path: '../x\nFAKE LOG LINE', body: 'x' }])]), target);
    expect(result.refused).toEqual([{ path: '../x\\nFAKE LOG LINE', type: 'File', reason: "'..' in the path" }]);
  });
});

describe('safeExtract on archives made by GNU tar from real files', () => {
  // A real device node takes root to make (mknod).
  requireReal('root');
  it('refuses what a hostile host packs with -P and --transform: absolute, ../, a real symlink, fifo, device', async () => {
    const src = path.join(root, 'hostile');
    mkdirSync(src);
    writeFileSync(path.join(src, 'console.log'), 'Linux version\n');
    symlinkSync(sibling, path.join(src, 'escape'));
    execFileSync('mkfifo', [path.join(src, 'fifo')]);
    execFileSync('mknod', [path.join(src, 'null'), 'c', '1', '3']);
    writeFileSync(path.join(root, 'through'), 'written through the link\n');
    const archive = path.join(root, 'hostile.tar.gz');
    // Absolute member names (-P), the real symlink and a file placed "through" it,
    // a `..` member, plus the fifo and device as they are on disk.
    execFileSync('tar', ['-czPf', archive,
      '--transform', 's,^hostile/console.log$,../TREE02/console.log,',
      '--transform', 's,^through$,hostile/escape/pwned,',
      '-C', root, 'hostile', 'through', path.join(sibling, 'console.log')]);
    const listed = execFileSync('tar', ['-tzPf', archive], { encoding: 'utf8' }).trim().split('\n');
    expect(listed).toEqual(expect.arrayContaining(['../TREE02/console.log', `${sibling}/console.log`, 'hostile/escape', 'hostile/escape/pwned', 'hostile/fifo']));
    const before = outsideSnapshot();
    const result = await safeExtract(archive, target);
    expect(outsideSnapshot()).toEqual(before);
    const reasons = Object.fromEntries(result.refused.map((r) => [r.path, r.reason.split(':')[0]]));
    expect(reasons).toMatchObject({
      '../TREE02/console.log': "'..' in the path",
      [`${sibling}/console.log`]: 'absolute path',
      'hostile/escape': 'symbolic link',
      'hostile/fifo': 'fifo',
    });
    expect(reasons['hostile/null']).toBe('character device');
    // With the link refused, the file meant to go through it lands in a plain directory inside.
    expect(result.written).toEqual(['hostile', 'hostile/escape/pwned']);
    expect(lstatSync(path.join(target, 'hostile/escape')).isDirectory()).toBe(true);
    expect(readdirSync(sibling)).toEqual(['console.log']);
  });
});
