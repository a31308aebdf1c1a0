import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { probeHost, ProbeFailure } from '../../src/farm/probe-host.js';
import { useFarm } from './farm-fixture.js';
import { ECHO_WORDS, HOSTILE_WORDS, splitNul } from './hostile-words.js';

const PYENV = "pyenv: cannot rehash: couldn't acquire lock /root/.pyenv/shims/.pyenv-shim";

/**
 * Hosts as they are in the wild: root's .bashrc (in each host's own mount namespace)
 * prints on both streams, a number among it, and sleeps; on `broken` it then exits,
 * so no command ever starts; on `stalled` it sleeps past the probe's step limit.
 */
const { connect } = useFarm({
  hosts: [
    { name: 'noisy', cpus: 1, loginShell: { stdout: ['Welcome to noisy', '42'], stderr: [PYENV], sleepSeconds: 2 } },
    { name: 'broken', cpus: 1, loginShell: { stdout: [], stderr: [PYENV], sleepSeconds: 0, exitCode: 1 } },
    { name: 'stalled', cpus: 1, loginShell: { stdout: ['still starting'], stderr: [], sleepSeconds: 30 } },
  ],
});

const T = { timeoutMs: 20_000 };

describe('commands through a noisy, slow login shell', () => {
  it('gives each command exactly its own output; the shell\'s talk and start-up time are reported apart', async () => {
    const host = await connect('noisy');
    const nproc = await host.run(['nproc'], T);
    expect(nproc).toMatchObject({ exitCode: 0, stdout: '1\n', stderr: '' });
    expect(nproc.loginShell!.said).toContain(PYENV);
    expect(nproc.loginShell!.said).toContain('42');
    expect(nproc.loginShell!.startMs).toBeGreaterThanOrEqual(1_900);
    const failing = await host.run(['sh', '-c', 'echo out; echo err >&2; exit 3'], T);
    expect(failing).toMatchObject({ exitCode: 3, stdout: 'out\n', stderr: 'err\n' });
    const hostile = await host.run([...ECHO_WORDS, ...HOSTILE_WORDS], T);
    expect(splitNul(hostile.stdout)).toEqual(HOSTILE_WORDS);
  });

  it('streams (spawn, files both ways) carry only the program\'s bytes', async () => {
    const host = await connect('noisy');
    const bytes = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7) % 256));
    expect((await host.putStream('/tmp/blob', bytes, T)).exitCode).toBe(0);
    const chunks: Buffer[] = [];
    const got = await host.getStream('/tmp/blob', new Writable({ write(c, _e, done) { chunks.push(c); done(); } }), T);
    expect(got.exitCode).toBe(0);
    expect(Buffer.concat(chunks).equals(bytes)).toBe(true);
    const child = await host.spawn(['sh', '-c', 'echo one; echo two >&2']);
    child.stdin.end();
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    await child.exited;
    await new Promise((resolve) => setImmediate(resolve));
    expect(Buffer.concat(out).toString()).toBe('one\n');
    expect(Buffer.concat(err).toString()).toBe('two\n');
    expect(child.loginShell!().said).toContain('Welcome to noisy');
  });

  it('a probe that fails quotes the host\'s own words and says how long it took', async () => {
    const host = await connect('broken');
    const error = await probeHost(host, { qemuBinary: 'qemu-system-x86_64', accel: 'tcg', remoteDir: '/tmp/kvm-farm' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProbeFailure);
    expect((error as Error).message).toMatch(/^nproc never started \(exit 1 after \d+\.\d s\): the host's login shell ended first; the host's login shell printed: pyenv: cannot rehash: couldn't acquire lock/);
  });

  it('a probe held up by a stalled login shell says so, with the time and what the shell printed', async () => {
    const host = await connect('stalled');
    const error = await probeHost(host, { qemuBinary: 'qemu-system-x86_64', accel: 'tcg', remoteDir: '/tmp/kvm-farm', stepTimeoutMs: 3_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProbeFailure);
    expect((error as Error).message).toMatch(/^nproc timed out: the host's login shell had not started it after \d+\.\d s \(limit 3\.0 s\); the host's login shell printed: still starting$/);
  });
});
