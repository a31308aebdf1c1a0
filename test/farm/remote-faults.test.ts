import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { remoteRun } from '../../src/farm/index.js';
import { useFarm } from '../transport/farm-fixture.js';
import { requireReal } from '../helpers/require.js';
import { smallRunOptions } from '../helpers/run-options.js';
import { waitFor } from '../helpers/wait.js';

const tree = requireReal('kernel-tree', 'kernel-build', 'qemu').kernelTree;
const { farm } = useFarm({ hosts: [{ name: 'f1', cpus: 1 }, { name: 'f2', cpus: 1 }] });
const results = mkdtempSync(path.join(os.tmpdir(), 'kvmfarm-faults-'));
afterAll(() => rmSync(results, { recursive: true, force: true }));

/**
 * A stand-in qemu on the hosts (the farm directory is visible there): answers the
 * probe's --version, then prints a kernel line to its console and sleeps, on f1 for
 * 2 s and on f2 for a minute.
 */
function fakeQemu(): string {
  const file = path.join(farm().dir, 'fake-qemu-faults');
  writeFileSync(file, [
    '#!/bin/sh',
    'if [ "$1" = --version ]; then echo "QEMU emulator version 0-fake"; exit 0; fi',
    'for a; do case $a in file:*) c=${a#file:};; esac; done',
    'echo "[    0.000000] Linux version 6.1.0-fake" >> "$c"',
    'if [ "$(hostname)" = f2 ]; then exec sleep 60; fi',
    'sleep 2; exit 0',
    '',
  ].join('\n'));
  chmodSync(file, 0o755);
  return file;
}


describe('kvm-remote when hosts fail', () => {
  it('a host lost mid-run: its running guest reruns on the other host, its share of the queue too; nothing is an infra-error', async () => {
    const name = 'lost';
    const remoteLog = path.join(results, `${name}-remote`, 'remote-log');
    const run = remoteRun({
      hosts: ['f1', 'f2'], sshConfigFile: farm().configFile, agent: null, accel: 'tcg', lostGraceMs: 0,
      source: { kind: 'build', options: smallRunOptions(tree, results, { configs: '4*UP01-SMALL', durationSeconds: 60, datestamp: name, qemuCmd: fakeQemu() }) },
    });
    await waitFor(() => { try { return /f2 state ready -> running: batch \d+ started/.test(readFileSync(remoteLog, 'utf8')); } catch { return false; } }, 60_000);
    const cut = Date.now();
    await farm().cutNetwork('f2');
    try {
      const summary = await run;
      // Only a hang bound: how soon the loss is acted on is the remote-log's requeue line, checked below.
      expect(Date.now() - cut).toBeLessThan(5 * 60_000);
      const f2 = summary.hosts.find((h) => h.name === 'f2')!;
      expect(f2).toMatchObject({ state: 'failed', losses: 1 });
      expect(summary.instances.map((x) => x.host)).toEqual(['f1', 'f1', 'f1', 'f1']);
      expect(summary.instances.filter((x) => x.warnings.includes('rerun after host loss (f2)'))).toHaveLength(1);
      for (const x of summary.instances) {
        expect(x.guest, x.instance).toMatchObject({ exitCode: 0, startError: null });
        expect(x.verdict?.kind, x.instance).not.toBe('infra-error');
      }
      expect(readFileSync(remoteLog, 'utf8')).toMatch(/Z f2 state running -> lost: f2: connection to .* lost/);
      expect(readFileSync(remoteLog, 'utf8')).toMatch(/Z f2 requeued \S+ \(attempt 2\) \d+ ms after the loss was noticed/);
    } finally {
      await farm().restoreNetwork('f2');
    }
  }, 5 * 60_000);

  it('--retries 0: an instance lost with its host is an infra-error at once, its partial console kept; the rest run on the other host', async () => {
    const name = 'lost-no-retry';
    const remoteLog = path.join(results, `${name}-remote`, 'remote-log');
    const run = remoteRun({
      hosts: ['f1', 'f2'], sshConfigFile: farm().configFile, agent: null, accel: 'tcg', retries: 0, lostGraceMs: 0,
      source: { kind: 'build', options: smallRunOptions(tree, results, { configs: '3*UP01-SMALL', durationSeconds: 60, datestamp: name, qemuCmd: fakeQemu() }) },
    });
    await waitFor(() => { try { return /f2 state ready -> running: batch \d+ started/.test(readFileSync(remoteLog, 'utf8')); } catch { return false; } }, 60_000);
    const onF2 = /f2 state ready -> running: batch \d+ started: (\S+)/.exec(readFileSync(remoteLog, 'utf8'))![1]!;
    // Cut once the guest's first console line has streamed home.
    const live = path.join(results, `${name}-remote`, onF2, 'console.log');
    await waitFor(() => { try { return readFileSync(live, 'utf8').includes('Linux version'); } catch { return false; } }, 30_000);
    await farm().cutNetwork('f2');
    try {
      const summary = await run;
      const lost = summary.instances.find((x) => x.instance === onF2)!;
      expect(lost.verdict).toMatchObject({ kind: 'infra-error', reasons: [expect.stringMatching(/^host lost 1 times: f2 \(attempt 1\); --retries 0 used up, so the kernel was never judged/)] });
      expect(lost.warnings).toEqual(expect.arrayContaining(['gave up after host loss (f2)', 'partial console kept as console.log.lost-f2-1']));
      expect(readFileSync(path.join(summary.runDir, onF2, 'console.log.lost-f2-1'), 'utf8')).toContain('Linux version 6.1.0-fake');
      const others = summary.instances.filter((x) => x.instance !== onF2);
      expect(others.map((x) => x.host)).toEqual(['f1', 'f1']);
      for (const x of others) expect(x.verdict?.kind, x.instance).not.toBe('infra-error');
    } finally {
      await farm().restoreNetwork('f2');
    }
  }, 5 * 60_000);

  it('an interrupt stops every guest at once and marks the run interrupted', async () => {
    const controller = new AbortController();
    const name = 'interrupt';
    const remoteLog = path.join(results, `${name}-remote`, 'remote-log');
    const run = remoteRun({
      hosts: ['f2'], sshConfigFile: farm().configFile, agent: null, accel: 'tcg', signal: controller.signal,
      source: { kind: 'build', options: smallRunOptions(tree, results, { configs: '2*UP01-SMALL', durationSeconds: 60, datestamp: name, qemuCmd: fakeQemu() }) },
    });
    await waitFor(() => { try { return /f2 state ready -> running: batch \d+ started/.test(readFileSync(remoteLog, 'utf8')); } catch { return false; } }, 60_000);
    const aborted = Date.now();
    controller.abort();
    const summary = await run;
    expect(Date.now() - aborted).toBeLessThan(15_000);
    expect(summary.interrupted).toBe(true);
    expect(summary.exitCode).not.toBe(0);
    const [ran, queued] = summary.instances;
    expect(ran!.guest!.stopped).toBe(true);
    expect(queued!.verdict).toMatchObject({ kind: 'infra-error', reasons: ['not run: the run was interrupted'] });
    const left = (await farm().inside('f2', ['ps', '-eo', 'args'])).split('\n').filter((l) => l.includes('fake-qemu-faults') && l.includes('interrupt-remote') && !l.includes('ps -eo'));
    expect(left).toEqual([]);
  }, 5 * 60_000);
});

describe('kvm-remote with more hosts than work', () => {
  it('a host with no batch is left idle, not failed', async () => {
    const summary = await remoteRun({
      hosts: ['f1', 'f2'], sshConfigFile: farm().configFile, agent: null, accel: 'tcg',
      source: { kind: 'build', options: smallRunOptions(tree, results, { configs: 'UP01-SMALL', durationSeconds: 5, datestamp: 'idle-host', qemuCmd: fakeQemu() }) },
    });
    expect(summary.instances.map((x) => x.host)).toEqual(['f1']);
    expect(summary.hosts.map((h) => [h.name, h.failure, h.batches.length])).toEqual([['f1', null, 1], ['f2', null, 0]]);
  }, 5 * 60_000);
});
