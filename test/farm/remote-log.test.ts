import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RemoteLog } from '../../src/farm/remote-log.js';
import { remotePaths } from '../../src/farm/remote-paths.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('RemoteLog', () => {
  it('writes one timestamped line per event, keeps text from hosts on one line, and says only what is not quiet', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kvmfarm-state-'));
    dirs.push(dir);
    const said: string[] = [];
    const log = new RemoteLog(dir, (l) => said.push(l));
    log.event('h1', 'probed: 2 CPUs');
    log.event('h1', 'collected X', true);
    log.event('h2', 'probe failed: no qemu\n2026-01-01T00:00:00.000Z h1 forged');
    const lines = readFileSync(path.join(dir, 'remote-log'), 'utf8').trim().split('\n');
    expect(lines.map((l) => l.replace(/^\S+ /, ''))).toEqual(['h1 probed: 2 CPUs', 'h1 collected X', 'h2 probe failed: no qemu\\n2026-01-01T00:00:00.000Z h1 forged']);
    expect(lines.every((l) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z /.test(l))).toBe(true);
    // What reaches the terminal is made printable too: the forged line stays visibly one line.
    expect(said).toEqual(['h1: probed: 2 CPUs', 'h2: probe failed: no qemu\\n2026-01-01T00:00:00.000Z h1 forged']);
  });
});

describe('remotePaths', () => {
  it('keeps the kernel store apart from the run directory', () => {
    expect(remotePaths('/tmp/kvm-farm/', '2026.11.21-10.00.00-remote')).toEqual({
      root: '/tmp/kvm-farm',
      store: '/tmp/kvm-farm/kernels',
      work: '/tmp/kvm-farm/runs/2026.11.21-10.00.00-remote',
      incoming: '/tmp/kvm-farm/runs/2026.11.21-10.00.00-remote/incoming',
    });
  });

  it.each([['kvm-farm', 'absolute'], ['~/kvm', 'absolute'], ['/', 'root of the host']])('rejects --remote-dir %j', (dir, message) => {
    expect(() => remotePaths(dir, 'r')).toThrow(message);
  });
});
