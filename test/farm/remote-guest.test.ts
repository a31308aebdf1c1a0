import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { QemuCommand } from '../../src/qemu/types.js';
import { runRemoteGuest, type RemoteGuestOptions } from '../../src/farm/remote-guest.js';
import { useFarm } from '../transport/farm-fixture.js';

const { farm, connect } = useFarm({ hosts: [{ name: 'g1', cpus: 1 }] });
const local = mkdtempSync(path.join(os.tmpdir(), 'kvmfarm-rguest-'));
afterAll(() => rmSync(local, { recursive: true, force: true }));

/** A stand-in for qemu on the host (the farm directory is visible there): finds its -serial file: and acts. */
function fakeQemu(name: string, body: string): string {
  const file = path.join(farm().dir, `fake-qemu-${name}`);
  writeFileSync(file, `#!/bin/sh\nfor a; do case $a in file:*) c=\${a#file:};; esac; done\n${body}\n`);
  chmodSync(file, 0o755);
  return file;
}

const KERNEL = 'echo "[    0.000000] Linux version 6.1.0-fake" >> "$c"';

async function guest(name: string, binary: string, over: Partial<RemoteGuestOptions> = {}) {
  const host = await connect('g1');
  const dir = path.join(local, name);
  const remoteConsole = `/tmp/rguest/${name}/console.log`;
  await host.run(['mkdir', '-p', path.posix.dirname(remoteConsole)], { timeoutMs: 5000 });
  const command: QemuCommand = { argv: [binary, '-serial', `file:${remoteConsole}`], settings: { KVMFARM_TOKEN: 'tok', KVMFARM_ACCEL: 'tcg' } };
  mkdirSync(dir, { recursive: true });
  const started = Date.now();
  const run = await runRemoteGuest({
    instance: name, host, command, remoteConsole, localDir: dir,
    durationSeconds: 1, shutdownGraceSeconds: 1, bootTimeoutSeconds: 3, quietSeconds: 1,
    stopFile: path.join(local, 'STOP'), termGraceSeconds: 1, ...over,
  });
  return { run, dir, host, elapsed: Date.now() - started };
}

async function leftOver(name: string): Promise<string> {
  // No pid namespace on farm hosts: ps sees every process of this machine, so look for the unique script name.
  const out = await farm().inside('g1', ['ps', '-eo', 'args']);
  return out.split('\n').filter((l) => l.includes(`fake-qemu-${name}`) && !l.includes('ps -eo')).join('\n');
}

describe('runRemoteGuest on a namespace host', () => {
  it('streams the console home, keeps qemu output apart, and records the exit', async () => {
    const bin = fakeQemu('pass', `${KERNEL}; echo "qemu: note" >&2; sleep 1; echo "End of test: SUCCESS" >> "$c"; exit 0`);
    const { run, dir } = await guest('pass', bin);
    expect(run).toMatchObject({ instance: 'pass', host: 'g1', exitCode: 0, signal: null, timedOut: false, noOutput: false, stopped: false, startError: null, token: 'tok' });
    expect(readFileSync(path.join(dir, 'console.log'), 'utf8')).toBe('[    0.000000] Linux version 6.1.0-fake\nEnd of test: SUCCESS\n');
    expect(readFileSync(path.join(dir, 'qemu-output'), 'utf8')).toBe('qemu: note\n');
    expect(readFileSync(path.join(dir, 'qemu-retval'), 'utf8')).toBe('0\n');
  });

  it('kills a guest whose console stopped past duration plus grace (hung), leaving nothing running', async () => {
    const bin = fakeQemu('hang', `${KERNEL}; exec sleep 300`);
    const { run, dir, elapsed } = await guest('hang', bin);
    expect(run.timedOut).toBe(true);
    expect(run.exitCode).toBeNull();
    expect(run.signal).toBe('SIGKILL');
    expect(elapsed).toBeLessThan(10_000);
    expect(readFileSync(path.join(dir, 'qemu-retval'), 'utf8')).toBe('137\n');
    expect(await leftOver('hang')).toBe('');
  });

  it('kills a guest that prints nothing by the boot limit (no-boot)', async () => {
    const bin = fakeQemu('silent', 'exec sleep 300');
    const { run, elapsed } = await guest('silent', bin, { durationSeconds: 100 });
    expect(run.noOutput).toBe(true);
    expect(elapsed).toBeGreaterThanOrEqual(3000);
    expect(elapsed).toBeLessThan(10_000);
    expect(await leftOver('silent')).toBe('');
  });

  it('stops a guest when the run directory gets a STOP file', async () => {
    const bin = fakeQemu('stop', `${KERNEL}; exec sleep 300`);
    const stopFile = path.join(local, 'STOP-now');
    setTimeout(() => writeFileSync(stopFile, ''), 1500);
    const { run, elapsed } = await guest('stop', bin, { stopFile, durationSeconds: 100 });
    expect(run.stopped).toBe(true);
    expect(elapsed).toBeLessThan(10_000);
    expect(await leftOver('stop')).toBe('');
  });

  it('reports a qemu that cannot start as a start error with its words', async () => {
    const { run } = await guest('missing', '/nonexistent/qemu-system-x86_64');
    expect(run.exitCode).toBe(127);
    // The guest's launcher (timeout, in the guest's own session on the host) says so in its words.
    expect(run.startError).toMatch(/nonexistent\/qemu-system-x86_64.*(not found|No such file)/);
  });
});
