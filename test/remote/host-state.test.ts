import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HostTracker, RemoteLog } from '../../src/remote/host-state.js';
import { remotePaths } from '../../src/remote/remote-paths.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('HostTracker', () => {
  it('logs every state change with a timestamp and refuses impossible moves', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kvmfarm-state-'));
    dirs.push(dir);
    const said: string[] = [];
    const tracker = new HostTracker(new RemoteLog(dir, (l) => said.push(l)));
    tracker.add('h1');
    tracker.move('h1', 'connected');
    expect(() => tracker.move('h1', 'running')).toThrow('no transition connected -> running');
    tracker.fail('h1', 'probe: no qemu');
    expect(tracker.usable('h1')).toBe(false);
    expect(tracker.failure('h1')).toBe('probe: no qemu');
    tracker.move('h1', 'cleaned');
    const lines = readFileSync(path.join(dir, 'remote-log'), 'utf8').trim().split('\n');
    expect(lines.map((l) => l.replace(/^\S+ /, ''))).toEqual(['h1 state connecting', 'h1 state connected', 'h1 state failed: probe: no qemu', 'h1 state cleaned']);
    expect(lines.every((l) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z /.test(l))).toBe(true);
    expect(said).toContain('h1: state failed: probe: no qemu');
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
