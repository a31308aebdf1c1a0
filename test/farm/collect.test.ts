import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { Header } from 'tar';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Host, SpawnHandle } from '../../src/transport/index.js';
import { collectResults } from '../../src/farm/collect.js';

/** A tar archive written header by header, as a hostile host could send it. */
function rawTar(entries: { path: string; body: string; type?: 'File' | 'SymbolicLink'; linkpath?: string }[]): Buffer {
  const blocks: Buffer[] = [];
  for (const { body, ...data } of entries) {
    const content = Buffer.from(body);
    const header = new Header({ mode: 0o644, uid: 0, gid: 0, mtime: new Date(0), type: 'File', ...data, size: data.type === 'SymbolicLink' ? 0 : content.length });
    const block = Buffer.alloc(512);
    header.encode(block, 0);
    blocks.push(block);
    if (data.type !== 'SymbolicLink') blocks.push(content, Buffer.alloc((512 - (content.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

/** A host whose every command answers with `archive` on stdout and `exitCode`; it records the words it was given. */
function fakeHost(archive: Buffer, exitCode = 0): Host & { words: string[][] } {
  const words: string[][] = [];
  return {
    name: 'evil',
    words,
    async spawn(w: string[]): Promise<SpawnHandle> {
      words.push(w);
      const stderr = new PassThrough();
      stderr.end();
      return { command: w, stdin: new PassThrough(), stdout: Readable.from([archive]), stderr, exited: Promise.resolve({ exitCode, signal: null }), kill: () => {} };
    },
    run: () => Promise.reject(new Error('not used')),
    putStream: () => Promise.reject(new Error('not used')),
    getStream: () => Promise.reject(new Error('not used')),
    close: () => Promise.resolve(),
  };
}

let root: string;
let instanceDir: string;
beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'kvmfarm-collect-'));
  instanceDir = path.join(root, 'run', 'UP01');
  mkdirSync(instanceDir, { recursive: true });
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('collectResults', () => {
  it('takes console.log from the host\'s tarball and nothing else: no ../, absolute, links or other files', async () => {
    const outside = path.join(root, 'pwned');
    const host = fakeHost(rawTar([
      { path: 'console.log', body: 'Linux version\n' },
      { path: '../../pwned', body: 'x' },
      { path: '../console.log', body: 'x' },
      { path: outside, body: 'x' },
      { path: 'verdict.json', body: '{"kind":"pass"}' },
      { path: 'qemu-retval', type: 'SymbolicLink', linkpath: '/etc/passwd', body: '' },
    ]));
    const result = await collectResults(host, '/tmp/kvm-farm/runs/r/UP01', instanceDir);
    expect(host.words).toEqual([['tar', '-c', '-f', '-', '-C', '/tmp/kvm-farm/runs/r/UP01', '--', 'console.log']]);
    expect(result.written).toEqual(['console.log']);
    expect(result.failed).toBeUndefined();
    expect(Object.fromEntries(result.refused.map((r) => [r.path, r.reason]))).toEqual({
      '../../pwned': "'..' in the path",
      '../console.log': "'..' in the path",
      [outside]: 'absolute path',
      'verdict.json': 'not a result file',
      'qemu-retval': 'symbolic link: only regular files and directories are taken',
    });
    expect(readdirSync(root).sort()).toEqual(['run']);
    expect(readdirSync(path.join(root, 'run'))).toEqual(['UP01']);
    expect(readdirSync(instanceDir)).toEqual(['console.log']);
    expect(readFileSync(path.join(instanceDir, 'console.log'), 'utf8')).toBe('Linux version\n');
  });

  it('keeps the live console when the host\'s tar fails', async () => {
    const result = await collectResults(fakeHost(rawTar([{ path: 'console.log', body: 'half' }]), 2), '/x', instanceDir);
    expect(result).toMatchObject({ written: [], failed: 'tar on evil ended with 2' });
    expect(readdirSync(instanceDir)).toEqual([]);
  });
});
