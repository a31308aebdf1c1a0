import { chmodSync, existsSync, mkdirSync, mkdtempSync, writeFileSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runKvm } from '../../src/run/kvm-run.js';
import { remoteRun } from '../../src/farm/index.js';
import type { RemoteOptions, RemoteSummary } from '../../src/farm/types.js';
import { useFarm } from '../transport/farm-fixture.js';
import { requireReal } from '../helpers/require.js';
import { smallRunOptions } from '../helpers/run-options.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Hosts as they are in the wild, end to end with real -SMALL kernels: qemu killed
 * on a host, a host whose disk fills, a host whose login shell talks and dawdles.
 * Faults of a host are named in summary.json, rerun elsewhere and never judged as
 * the kernel's.
 */
const tree = requireReal('kernel-tree', 'kernel-build', 'qemu').kernelTree;
const PYENV = "pyenv: cannot rehash: couldn't acquire lock /root/.pyenv/shims/.pyenv-shim";
const { farm } = useFarm({
  hosts: [
    { name: 'w1', cpus: 1 },
    { name: 'w2', cpus: 1 },
    { name: 'noisy', cpus: 1, loginShell: { stdout: ['Welcome to noisy', '7'], stderr: [PYENV], sleepSeconds: 2 } },
  ],
});
const results = mkdtempSync(path.join(os.tmpdir(), 'kvmfarm-wild-'));
afterAll(() => rmSync(results, { recursive: true, force: true }));
const MINUTES = 60_000;

function run(name: string, over: Partial<RemoteOptions>): { summary: Promise<RemoteSummary>; log: () => string } {
  const summary = remoteRun({
    hosts: ['w1', 'w2'], sshConfigFile: farm().configFile, agent: null, accel: 'tcg',
    source: { kind: 'build', options: smallRunOptions(tree, results, { configs: '2*UP01-SMALL', durationSeconds: 10, shutdownGraceSeconds: 10, bootTimeoutSeconds: 30, datestamp: name }) },
    ...over,
  });
  summary.catch(() => {});
  const file = path.join(results, `${name}-remote`, 'remote-log');
  return { summary, log: () => { try { return readFileSync(file, 'utf8'); } catch { return ''; } } };
}

/** The instance a host started first, once the remote-log says so. */
async function startedOn(log: () => string, host: string): Promise<string> {
  const pattern = new RegExp(`Z ${host} state ready -> running: batch \\d+ started: (\\S+)`);
  await waitFor(() => pattern.test(log()), 3 * MINUTES);
  return pattern.exec(log())![1]!;
}

/** pids of qemu processes whose console is this instance's under `remoteDir` (only this test's guests match). */
function qemuPids(remoteDir: string, instance: string): number[] {
  return readdirSync('/proc').filter((p) => /^\d+$/.test(p)).flatMap((p) => {
    try {
      const argv = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
      // The console is in the instance's directory, or its attempt's (`NAME@2`).
      const consoleAt = new RegExp(`/${instance.replace(/[.]/g, '\\.')}(@\\d+)?/console\\.log`);
      return argv[0]!.includes('qemu-system') && argv.some((a) => a.includes(`${remoteDir}/runs/`) && consoleAt.test(a)) ? [Number(p)] : [];
    } catch {
      return [];
    }
  });
}

function expectNoKernelVerdictFor(summary: RemoteSummary): void {
  for (const x of summary.instances) {
    expect(x.verdict?.kind, `${x.instance}: ${x.verdict?.reasons.join('; ')}`).toBe('pass');
    expect(x.guest?.infraFault, x.instance).toBeUndefined();
  }
}

describe('faults of a host stay the host\'s', () => {
  it('qemu SIGKILLed on a host: named qemu-killed, rerun on the other host, judged only from the rerun', async () => {
    const remoteDir = '/tmp/kvmfarm-wild-kill';
    const r = run('killed', { remoteDir });
    const victim = await startedOn(r.log, 'w2');
    const live = path.join(results, 'killed-remote', victim, 'console.log');
    await waitFor(() => existsSync(live) && readFileSync(live, 'utf8').includes('Linux version'), 2 * MINUTES);
    const pids = qemuPids(remoteDir, victim);
    expect(pids).toHaveLength(1);
    process.kill(pids[0]!, 'SIGKILL');
    const summary = await r.summary;
    const x = summary.instances.find((i) => i.instance === victim)!;
    expect(x.infraFaults).toEqual([{ host: 'w2', attempt: 1, kind: 'qemu-killed', detail: expect.stringMatching(/^w2: qemu was killed by SIGKILL, not by kvm-farm/) }]);
    expect(x.host).toBe('w1');
    expect(x.warnings).toEqual(expect.arrayContaining(['rerun after qemu-killed on w2 (attempt 1)', 'console of that attempt kept as console.log.infra-w2-1']));
    expect(readFileSync(path.join(summary.runDir, victim, 'console.log.infra-w2-1'), 'utf8')).toContain('Linux version');
    expectNoKernelVerdictFor(summary);
    // A one-off (the OOM killer): the host is not benched.
    expect(summary.hosts.find((h) => h.name === 'w2')).toMatchObject({ failure: null });
    expect(summary.hosts.find((h) => h.name === 'w2')!.benched).toBeUndefined();
    const saved = JSON.parse(readFileSync(path.join(summary.runDir, 'summary.json'), 'utf8')) as RemoteSummary;
    expect(saved.instances.find((i) => i.instance === victim)!.infraFaults![0]!.kind).toBe('qemu-killed');
  }, 8 * MINUTES);

  it('a host whose disk fills while its guest writes the console: disk-full, rerun elsewhere, the host takes no more work', async () => {
    const remoteDir = '/tmp/kvmfarm-wild-full';
    await farm().inside('w2', ['mkdir', '-p', remoteDir]);
    await farm().inside('w2', ['mount', '-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', remoteDir]);
    const r = run('full', { remoteDir });
    // The guest is up and writing its console; now the disk fills up. (Filled as soon as
    // the host was ready, the kernels sent before its batch met the full disk instead.)
    const victim = await startedOn(r.log, 'w2');
    const live = path.join(results, 'full-remote', victim, 'console.log');
    await waitFor(() => existsSync(live) && readFileSync(live, 'utf8').includes('Linux version'), 2 * MINUTES);
    await farm().inside('w2', ['sh', '-c', 'dd if=/dev/zero of="$1/filler" bs=64k 2>/dev/null; exit 0', 'sh', remoteDir]);
    const summary = await r.summary;
    const faulted = summary.instances.filter((i) => i.infraFaults);
    expect(faulted).toHaveLength(1);
    expect(faulted[0]!.infraFaults).toEqual([{ host: 'w2', attempt: 1, kind: 'disk-full', detail: expect.stringMatching(/^w2: \d+ KiB free in \/tmp\/kvmfarm-wild-full\/runs\/.* after qemu ended/) }]);
    expect(summary.instances.map((i) => i.host)).toEqual(['w1', 'w1']);
    expectNoKernelVerdictFor(summary);
    expect(summary.hosts.find((h) => h.name === 'w2')!.benched).toMatch(/^disk-full: w2: /);
  }, 8 * MINUTES);

  it('a host whose disk is too small for the kernels: failed as disk-full while receiving them; the run goes on elsewhere', async () => {
    const remoteDir = '/tmp/kvmfarm-wild-tiny';
    await farm().inside('w2', ['mkdir', '-p', remoteDir]);
    await farm().inside('w2', ['mount', '-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', remoteDir]);
    // Kernels built beforehand: every host receives them all as it comes up (with a build going on, a host gets those built by then).
    const built = await runKvm({ ...smallRunOptions(tree, results, { configs: '2*UP01-SMALL', durationSeconds: 10, shutdownGraceSeconds: 10, bootTimeoutSeconds: 30, datestamp: 'tiny-kernels' }), buildonly: true });
    const r = run('tiny', { remoteDir, minHosts: 1, gatherTimeoutMs: 5_000, source: { kind: 'again', options: { runDir: built.runDir, newRunDir: path.join(results, 'tiny-remote') } } });
    const summary = await r.summary;
    expect(summary.hosts.find((h) => h.name === 'w2')).toMatchObject({ state: 'failed', failure: expect.stringMatching(/^disk-full while receiving kernels \(\d+ KiB free in \/tmp\/kvmfarm-wild-tiny\): receiving into \/tmp\/kvmfarm-wild-tiny\/runs\/tiny-remote ended with \d+: tar: /) });
    expect(summary.instances.map((i) => i.host)).toEqual(['w1', 'w1']);
    expectNoKernelVerdictFor(summary);
  }, 8 * MINUTES);
});

describe('a host whose qemu is gone when it comes back', () => {
  it('lost mid-batch, rejoins without qemu: failed as qemu-missing, its instance rerun elsewhere, never judged there', async () => {
    // qemu through a wrapper in the farm directory, which every host sees until w2's own mount hides it.
    const bin = path.join(farm().dir, 'qemu-bin');
    mkdirSync(bin, { recursive: true });
    const qemu = path.join(bin, 'qemu-system-x86_64');
    writeFileSync(qemu, '#!/bin/sh\nexec /usr/bin/qemu-system-x86_64 "$@"\n');
    chmodSync(qemu, 0o755);
    const r = run('gone', { source: { kind: 'build', options: smallRunOptions(tree, results, { configs: '2*UP01-SMALL', durationSeconds: 15, shutdownGraceSeconds: 10, bootTimeoutSeconds: 30, datestamp: 'gone', qemuCmd: qemu }) }, lostGraceMs: 0 });
    const victim = await startedOn(r.log, 'w2');
    const live = path.join(results, 'gone-remote', victim, 'console.log');
    await waitFor(() => existsSync(live) && readFileSync(live, 'utf8').includes('Linux version'), 2 * MINUTES);
    await farm().cutNetwork('w2');
    try {
      await farm().inside('w2', ['mount', '-t', 'tmpfs', 'tmpfs', bin]);
      await waitFor(() => /Z w2 state running -> lost/.test(r.log()), MINUTES);
    } finally {
      await farm().restoreNetwork('w2');
    }
    const summary = await r.summary;
    expect(summary.hosts.find((h) => h.name === 'w2')).toMatchObject({ state: 'failed', failure: expect.stringMatching(/^qemu-missing: \S+qemu-system-x86_64 does not run there \(exit 127: /) });
    expect(summary.instances.map((i) => i.host)).toEqual(['w1', 'w1']);
    expectNoKernelVerdictFor(summary);
    expect(summary.instances.find((i) => i.instance === victim)!.warnings).toContain('rerun after host loss (w2)');
  }, 8 * MINUTES);
});

describe('a host whose login shell talks and dawdles', () => {
  it('still probes and runs its guests; its shell\'s words never reach a result, and the slow login is said', async () => {
    const r = run('noisy', { hosts: ['w1', 'noisy'] });
    const summary = await r.summary;
    const noisy = summary.hosts.find((h) => h.name === 'noisy')!;
    expect(noisy).toMatchObject({ state: 'done', failure: null, cpus: 1 });
    expect(noisy.batches.length).toBeGreaterThanOrEqual(1);
    expect(summary.instances.some((i) => i.host === 'noisy')).toBe(true);
    expectNoKernelVerdictFor(summary);
    expect(r.log()).toMatch(/Z noisy slow login shell: [2-9]\.\d s before each command starts; its start-up files print: pyenv: cannot rehash: couldn't acquire lock .*Welcome to noisy\\n7 \(kept apart from command output\)/);
  }, 8 * MINUTES);
});
