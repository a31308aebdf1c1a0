import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseQemuCmdFile } from '../../src/qemu/index.js';
import { main } from '../../src/cli/kvm-remote.js';
import { remoteRun, type RemoteOptions, type RemoteProgress, type RemoteSummary } from '../../src/farm/index.js';
import { recheckRun } from '../../src/run/recheck.js';
import { farmConfigText, useFarm } from '../transport/farm-fixture.js';
import { PWNED_FILES } from '../transport/hostile-words.js';
import { requireReal } from '../helpers/require.js';
import { smallRunOptions } from '../helpers/run-options.js';
import { expectCleanFarmRun, INSTANCE_LAYOUT, RUN_LAYOUT } from '../helpers/farm-run-checks.js';

const tree = requireReal('kernel-tree', 'kernel-build', 'qemu').kernelTree;
const HOSTS = [
  { name: 'r1', cpus: 1 },
  { name: 'r2', cpus: 2 },
  { name: 'r3', cpus: 2 },
];
const { farm, writeConfig } = useFarm({ hosts: HOSTS });
const results = mkdtempSync(path.join(os.tmpdir(), 'kvmfarm-remote-'));
afterAll(() => rmSync(results, { recursive: true, force: true }));
const MINUTES = 60_000;

/** What a local kvm-run leaves in each instance directory and in the run directory. */

function remote(over: Partial<RemoteOptions> & Pick<RemoteOptions, 'source'>): Promise<RemoteSummary> {
  return remoteRun({ hosts: HOSTS.map((h) => h.name), sshConfigFile: farm().configFile, agent: null, accel: 'auto', ...over });
}

let first: RemoteSummary | undefined;

describe('kvm-remote on a farm of namespace hosts (real kernels, TCG)', () => {
  it('runs 6 instances of 30 s on hosts of 1, 2 and 2 CPUs, judged into a run directory laid out as a local one', async () => {
    const logins = HOSTS.map((h) => farm().countLogins(h.name));
    const progress: RemoteProgress[] = [];
    const summary = await remote({
      source: { kind: 'build', options: smallRunOptions(tree, results, { configs: '3*UP01-SMALL 2*TREE02C-SMALL BUSTED01-SMALL', datestamp: 'farm' }) },
      onProgress: (p) => progress.push(p),
    });
    expect(progress.at(-1)).toMatchObject({ batches: { running: 0, queued: 0, done: summary.hosts.reduce((n, h) => n + h.batches.length, 0) }, judged: 6, instances: 6 });
    expect(progress.some((p) => p.batches.running === 3)).toBe(true);
    first = summary;
    const kinds = Object.fromEntries(summary.instances.map((x) => [x.instance, x.verdict?.kind]));
    expect(kinds).toEqual({
      'UP01-SMALL': 'pass', 'UP01-SMALL.2': 'pass', 'UP01-SMALL.3': 'pass', 'TREE02C-SMALL': 'pass', 'TREE02C-SMALL.2': 'pass', 'BUSTED01-SMALL': 'fail',
    });
    expect(summary.exitCode).toBe(1);
    expect(summary.instances.find((x) => x.instance === 'BUSTED01-SMALL')!.verdict!.quoted.some((l) => l.includes('!!!'))).toBe(true);
    for (const x of summary.instances) {
      expect(x.guest!.durationMs, x.instance).toBeGreaterThan(30_000);
      expect(HOSTS.map((h) => h.name)).toContain(x.host);
      expect(x.guest!.accel).toBe('tcg');
    }
    // One persistent connection per host: every command and transfer reused it.
    HOSTS.forEach((h, i) => expect(farm().countLogins(h.name) - logins[i]!, h.name).toBe(1));
    expectCleanFarmRun(summary, HOSTS);
    const dir = summary.runDir;
    const log = readFileSync(path.join(dir, 'remote-log'), 'utf8');
    for (const h of HOSTS) {
      for (const event of [/state connecting -> probing: connected/, /probed: \d CPUs/, /state shipping -> ready/, /shipped \d+ bytes .* in \d+\.\d\d s/, /batch \d+ started/, /batch \d+ ended after/, /collected /, /removed \/tmp\/kvm-farm\/runs\//]) {
        expect(log.split('\n').some((l) => /^\S+Z /.test(l) && l.includes(` ${h.name} `) && event.test(l)), `${h.name}: ${event}`).toBe(true);
      }
      // The run's directory is gone from the host; its kernels stay in the store for the next run.
      expect(await farm().inside(h.name, ['ls', '-A', '/tmp/kvm-farm/runs'])).toBe('');
      expect((await farm().inside(h.name, ['ls', '/tmp/kvm-farm/kernels'])).split('\n').every((l) => /^[0-9a-f]{64}$/.test(l))).toBe(true);
    }
    // kvm-recheck reads the directory as it reads a local run's.
    const recheck = await recheckRun(dir);
    expect(Object.fromEntries(recheck.instances.map((x) => [x.instance, x.verdict?.kind]))).toEqual(kinds);
  }, 15 * MINUTES);

  it('reruns that run on the same hosts without sending any kernel again', async () => {
    expect(first).toBeDefined();
    const summary = await remote({ source: { kind: 'again', options: { runDir: first!.runDir, durationSeconds: 10, newRunDir: path.join(results, 'again-1') } } });
    for (const h of summary.hosts) expect(h.blobBytesShipped, h.name).toBe(0);
    expect(summary.instances.map((x) => x.verdict?.kind).sort()).toEqual(['fail', 'pass', 'pass', 'pass', 'pass', 'pass']);
    expect(summary.sourceRunDir).toBe(first!.runDir);
  }, 10 * MINUTES);

  it('runs on localhost beside an ssh host, and --keep-remote leaves a hostile --remote-dir in place', async () => {
    expect(first).toBeDefined();
    const remoteDir = "/tmp/kvm farm it's $(touch /tmp/kvmfarm-pwned-subst)";
    const summary = await remote({
      hosts: ['localhost', 'r1'],
      remoteDir,
      keepRemote: true,
      source: { kind: 'again', options: { runDir: first!.runDir, durationSeconds: 10, configs: 'UP01-SMALL TREE02C-SMALL', newRunDir: path.join(results, 'again-local') } },
    });
    const byId = Object.fromEntries(summary.instances.map((x) => [x.instance, x]));
    expect(byId['TREE02C-SMALL']!.host).toBe('localhost');
    expect(byId['UP01-SMALL']!.host).toBe('r1');
    expect(summary.instances.map((x) => x.verdict?.kind)).toEqual(['pass', 'pass']);
    expect(summary.hosts.find((h) => h.name === 'localhost')!.shipMs).toBeUndefined();
    // Each attempt has its own directory on the host (`NAME@N`), so a rerun never mixes with a written-off guest.
    const kept = await farm().inside('r1', ['ls', path.posix.join(remoteDir, 'runs', 'again-local', 'UP01-SMALL@1')]);
    // Guests are placed when they start: the host gets the kernel store and each guest's own files (its
    // console, and what its detached session leaves: qemu's output, pids and status), no qemu-cmd.
    expect(kept.split('\n').filter((l) => l !== '').sort()).toEqual(['console.log', 'exit', 'pid', 'qemu-output', 'qpid']);
    for (const file of PWNED_FILES) {
      expect(existsSync(file)).toBe(false);
      expect(await farm().inside('r1', ['ls', '/tmp'])).not.toContain(path.basename(file));
    }
  }, 10 * MINUTES);

  it('kvm-remote HOSTS RUNDIR: the command line runs a rerun and prints each host', async () => {
    expect(first).toBeDefined();
    const out: string[] = [];
    const err: string[] = [];
    const status = await main(
      ['r2 r3', first!.runDir, '--configs', 'UP01-SMALL TREE02C-SMALL', '--duration', '5s', '--rundir', path.join(results, 'cli'), '-F', farm().configFile, '--accel', 'tcg'],
      { out: (l) => out.push(l), err: (l) => err.push(l) },
    );
    expect(err).toEqual([]);
    expect(status).toBe(0);
    expect(out.some((l) => /^progress: hosts 2 .* judged 2\/2/.test(l))).toBe(true);
    expect(out.filter((l) => /^host r[23]: 2 CPUs, tcg, 1 batch\(es\), \d+ kernel bytes shipped in \d+\.\d\d s$/.test(l))).toHaveLength(2);
  }, 5 * MINUTES);

  it('refuses an unknown host key, and runs nothing there', async () => {
    expect(first).toBeDefined();
    const empty = path.join(farm().dir, 'known_hosts.empty');
    writeFileSync(empty, '');
    const config = writeConfig('ssh_config.unknown', farmConfigText(farm()).replaceAll(farm().knownHostsFile, empty));
    const logins = farm().countLogins('r2');
    const run = remoteRun({
      hosts: ['r2'], sshConfigFile: config, agent: null,
      source: { kind: 'again', options: { runDir: first!.runDir, configs: 'UP01-SMALL', newRunDir: path.join(results, 'unknown-key') } },
    });
    await expect(run).rejects.toThrow(/only 0 of 1 hosts ready .* missing: r2 \(key refused\)/);
    expect(farm().countLogins('r2')).toBe(logins);
    expect(readFileSync(path.join(results, 'unknown-key', 'remote-log'), 'utf8')).toMatch(/r2 state connecting -> failed: .*unknown host key/);
    // The run directory still says what happened: the instance was never run, and why.
    const summary = JSON.parse(readFileSync(path.join(results, 'unknown-key', 'summary.json'), 'utf8')) as RemoteSummary;
    expect(summary.instances.map((x) => x.verdict?.kind)).toEqual(['infra-error']);
    expect(summary.quorum).toMatchObject({ trigger: 'failed', ready: [], missing: [{ host: 'r2' }] });
  });

  it.each([
    ['r2;touch /tmp/kvmfarm-pwned-semicolon'],
    ['$(touch /tmp/kvmfarm-pwned-subst)'],
    ['`touch /tmp/kvmfarm-pwned-backtick`'],
    ['r3|touch /tmp/kvmfarm-pwned-pipe'],
    ['-oProxyCommand=touch /tmp/kvmfarm-pwned-and'],
  ])('a host named %j stops the run before anything runs on any host', async (bad) => {
    const logins = HOSTS.map((h) => farm().countLogins(h.name));
    await expect(remote({
      hosts: ['r1', bad, 'r3'],
      source: { kind: 'again', options: { runDir: first?.runDir ?? '/nonexistent', newRunDir: path.join(results, 'never') } },
    })).rejects.toThrow(/is not a host name or address/);
    HOSTS.forEach((h, i) => expect(farm().countLogins(h.name)).toBe(logins[i]));
    expect(existsSync(path.join(results, 'never'))).toBe(false);
    for (const file of PWNED_FILES) expect(existsSync(file)).toBe(false);
  });

  it('a HostName with shell metacharacters in the ssh config is refused too', async () => {
    const config = writeConfig('ssh_config.evil', `${farmConfigText(farm())}\nHost evil\n  HostName h$(touch /tmp/kvmfarm-pwned-subst)\n`);
    await expect(remoteRun({
      hosts: ['r1', 'evil'], sshConfigFile: config, agent: null,
      source: { kind: 'again', options: { runDir: '/nonexistent', newRunDir: path.join(results, 'never') } },
    })).rejects.toThrow(/"evil".*is not a host name/);
    expect(existsSync('/tmp/kvmfarm-pwned-subst')).toBe(false);
  });
});
