import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { againRun } from '../../src/again/again.js';
import { remoteRun, type RemoteOptions, type RemoteSummary } from '../../src/farm/index.js';
import { runKvm } from '../../src/run/kvm-run.js';
import { farmConfigText, useFarm } from '../transport/farm-fixture.js';
import { requireReal } from '../helpers/require.js';
import { smallRunOptions } from '../helpers/run-options.js';
import { nodeArgsForModule } from '../../src/util/module-worker.js';

/**
 * The fleet's must-shows on namespace hosts with real kernels (TCG): a dead host and
 * --min-hosts, a network cut mid-batch, SIGINT on the real command, and a host whose
 * result tarballs are hostile. One --buildonly run gives every test its kernels.
 */
const real = requireReal('kernel-tree', 'kernel-build', 'qemu');
const tree = real.kernelTree;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const results = mkdtempSync(path.join(os.tmpdir(), 'kvmfarm-fleet-'));
/** x4's `tar` is a wrapper that packs hostile entries; it sits where the hosts can see it (not their private /tmp). */
const hostileBin = mkdtempSync(path.join('/var/tmp', 'kvmfarm-hostile-'));
const { farm, writeConfig } = useFarm({
  hosts: [
    { name: 'x1', cpus: 1 },
    { name: 'x2', cpus: 1 },
    { name: 'x3', cpus: 2 },
    { name: 'x4', cpus: 1, sshdConfig: [`SetEnv PATH=${hostileBin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`] },
  ],
});
afterAll(() => {
  rmSync(results, { recursive: true, force: true });
  rmSync(hostileBin, { recursive: true, force: true });
});
const MINUTES = 60_000;
let kernels = '';

real.beforeAll(async () => {
  const built = await runKvm({ ...smallRunOptions(tree, results, { configs: '6*UP01-SMALL TREE02C-SMALL', datestamp: 'kernels' }), buildonly: true });
  kernels = built.runDir;
}, 20 * MINUTES);

function remote(name: string, over: Partial<RemoteOptions> & { configs: string; durationSeconds: number }): Promise<RemoteSummary> {
  const { configs, durationSeconds, ...rest } = over;
  return remoteRun({
    hosts: ['x1', 'x2', 'x3'], sshConfigFile: farm().configFile, agent: null, accel: 'tcg',
    source: { kind: 'again', options: { runDir: kernels, configs, durationSeconds, newRunDir: path.join(results, name) } },
    ...rest,
  });
}

/** Resolves once remote-log has a line matching `pattern`, with that line; checked on every write of the file. */
function logLine(file: string, pattern: RegExp, ms: number): Promise<string> {
  const until = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      const line = (existsSync(file) ? readFileSync(file, 'utf8') : '').split('\n').find((l) => pattern.test(l));
      if (line) {
        clearInterval(timer);
        resolve(line);
      } else if (Date.now() > until) {
        clearInterval(timer);
        reject(new Error(`no line ${pattern} in ${file} within ${ms} ms`));
      }
    }, 100);
  });
}

const stamp = (line: string): number => Date.parse(line.split(' ')[0]!);

/** Processes on the machine (the hosts share its PID namespace) whose command line names this run. */
async function leftovers(host: string, runName: string): Promise<string[]> {
  const ps = await farm().inside(host, ['ps', '-eo', 'pid,args']);
  return ps.split('\n').filter((l) => l.includes(runName) && !l.includes('ps -eo'));
}

describe('a fleet that survives (namespace hosts, real kernels)', () => {
  it('3 hosts, one dead from the start, --min-hosts 2: runs on the 2 and names the dead one and why', async () => {
    const f = farm();
    const config = writeConfig('ssh_config.dead', `${farmConfigText(f)}\nHost dead\n  HostName 127.0.0.1\n  Port 9\n  User root\n  IdentityFile ${f.clientKey}\n  UserKnownHostsFile ${f.knownHostsFile}\n  ConnectTimeout 2\n`);
    const summary = await remote('quorum', {
      hosts: ['x1', 'x3', 'dead'], sshConfigFile: config, minHosts: 2, gatherTimeoutMs: 5_000,
      configs: 'UP01-SMALL TREE02C-SMALL', durationSeconds: 15,
    });
    expect(Object.fromEntries(summary.instances.map((x) => [x.instance, x.verdict?.kind]))).toEqual({ 'UP01-SMALL': 'pass', 'TREE02C-SMALL': 'pass' });
    expect(summary.instances.map((x) => x.host).sort()).toEqual(['x1', 'x3']);
    // `connection refused`, or `connection refused, connecting again` if the start caught it mid-retry.
    expect(summary.quorum).toMatchObject({ minHosts: 2, trigger: 'countdown', missing: [{ host: 'dead', why: expect.stringMatching(/^connection refused/) }] });
    expect(summary.quorum.ready.sort()).toEqual(['x1', 'x3']);
    const dead = summary.hosts.find((h) => h.name === 'dead')!;
    expect(dead).toMatchObject({ state: 'failed', batches: [] });
    expect(dead.failure).toMatch(/connection refused by 127\.0\.0\.1:9/);
    const saved = JSON.parse(readFileSync(path.join(summary.runDir, 'summary.json'), 'utf8')) as RemoteSummary;
    expect(saved.quorum.missing).toEqual(summary.quorum.missing);
    const log = readFileSync(path.join(summary.runDir, 'remote-log'), 'utf8');
    expect(log).toMatch(/Z dead state connecting -> unreachable: dead: connection refused .* \[refused\]/);
    expect(log).toMatch(/Z - quorum met \(countdown\) .* missing: dead \(connection refused\)/);
  }, 5 * MINUTES);

  it('the quorum not met: one line naming each missing host and why, and still a summary.json', async () => {
    const f = farm();
    const config = writeConfig('ssh_config.dead2', `${farmConfigText(f)}\nHost dead\n  HostName 127.0.0.1\n  Port 9\n  User root\n  IdentityFile ${f.clientKey}\n  UserKnownHostsFile ${f.knownHostsFile}\n  ConnectTimeout 2\n`);
    const run = remote('no-quorum', { hosts: ['x1', 'dead'], sshConfigFile: config, gatherTimeoutMs: 3_000, configs: 'UP01-SMALL', durationSeconds: 15 });
    await expect(run).rejects.toThrow(/^only 1 of 2 hosts ready after [\d.]+ s, --min-hosts needs 2; missing: dead \(connection refused\): fix those hosts/);
    const saved = JSON.parse(readFileSync(path.join(results, 'no-quorum', 'summary.json'), 'utf8')) as RemoteSummary;
    expect(saved.instances.map((x) => x.verdict?.kind)).toEqual(['infra-error']);
    expect(saved.instances[0]!.verdict!.reasons).toEqual([expect.stringMatching(/^not run: the quorum was not met: only 1 of 2 hosts ready .* missing: dead \(connection refused\)/)]);
    expect(saved.quorum).toMatchObject({ trigger: 'failed', ready: ['x1'] });
  }, 2 * MINUTES);

  it('a host unreachable at the start joins once it answers, and takes work from the shared queue', async () => {
    const name = 'late';
    const remoteLog = path.join(results, name, 'remote-log');
    await farm().cutNetwork('x2');
    let run: Promise<RemoteSummary>;
    try {
      run = remote(name, {
        hosts: ['x1', 'x2'], minHosts: 1, gatherTimeoutMs: 2_000,
        configs: 'UP01-SMALL UP01-SMALL.2 UP01-SMALL.3 UP01-SMALL.4', durationSeconds: 15,
      });
      await logLine(remoteLog, /Z - quorum met \(countdown\)/, 2 * MINUTES);
    } finally {
      await farm().restoreNetwork('x2');
    }
    const summary = await run;
    expect(summary.quorum).toMatchObject({ ready: ['x1'], missing: [{ host: 'x2' }] });
    expect(summary.instances.map((x) => x.verdict?.kind)).toEqual(['pass', 'pass', 'pass', 'pass']);
    const x2 = summary.hosts.find((h) => h.name === 'x2')!;
    expect(x2).toMatchObject({ state: 'done', failure: null });
    expect(x2.batches.length).toBeGreaterThanOrEqual(1);
    const log = readFileSync(remoteLog, 'utf8').split('\n');
    const quorumAt = log.findIndex((l) => / - quorum met/.test(l));
    expect(log.findIndex((l) => / x2 state connecting -> unreachable/.test(l))).toBeLessThan(quorumAt);
    expect(log.findIndex((l) => / x2 state \w+ -> ready/.test(l))).toBeGreaterThan(quorumAt);
  }, 5 * MINUTES);

  it('a host cut off mid-batch: its instances rerun on the others, every instance judged, the host rejoins', async () => {
    const name = 'cut';
    const remoteLog = path.join(results, name, 'remote-log');
    const duration = 20;
    // --lost-grace 0: rerun at once, the behaviour past any grace (test/farm/lose-nothing.test.ts covers the grace).
    const run = remote(name, { configs: [1, 2, 3, 4, 5, 6].map((n) => (n === 1 ? 'UP01-SMALL' : `UP01-SMALL.${n}`)).join(' '), durationSeconds: duration, lostGraceMs: 0 });
    const started = await logLine(remoteLog, /Z x3 state ready -> running: batch \d+ started: \S+ \S+$/, 3 * MINUTES);
    const lostIds = started.split('started: ')[1]!.split(' ');
    // Well into the batch: both guests have booted and written console output.
    await new Promise((r) => setTimeout(r, 6_000));
    const cut = Date.now();
    await farm().cutNetwork('x3');
    let requeueMs: number;
    try {
      const requeued = await logLine(remoteLog, /Z x3 requeued /, MINUTES);
      requeueMs = stamp(requeued) - cut;
    } finally {
      await farm().restoreNetwork('x3');
    }
    const summary = await run;
    const ended = Date.now();
    console.log(`cut -> requeue: ${requeueMs} ms (loss noticed: ${stamp(readFileSync(remoteLog, 'utf8').split('\n').find((l) => / x3 state \w+ -> lost/.test(l))!) - cut} ms after the cut)`);
    expect(requeueMs).toBeLessThan(10_000);
    expect(summary.instances.map((x) => x.verdict?.kind)).toEqual(Array(6).fill('pass'));
    for (const id of lostIds) {
      const x = summary.instances.find((i) => i.instance === id)!;
      expect(x.host, id).not.toBe('x3');
      expect(x.warnings, id).toEqual(expect.arrayContaining(['rerun after host loss (x3)', 'partial console kept as console.log.lost-x3-1']));
      const files = readdirSync(path.join(summary.runDir, id));
      expect(files, id).toEqual(expect.arrayContaining(['console.log', 'console.log.lost-x3-1']));
      expect(readFileSync(path.join(summary.runDir, id, 'console.log.lost-x3-1'), 'utf8'), id).toMatch(/Linux version/);
      expect(readFileSync(path.join(summary.runDir, id, 'console.log'), 'utf8'), id).toMatch(/End of test: SUCCESS/);
    }
    const x3 = summary.hosts.find((h) => h.name === 'x3')!;
    expect(x3).toMatchObject({ losses: 1, state: 'done', failure: null });
    const log = readFileSync(remoteLog, 'utf8');
    expect(log).toMatch(/Z x3 state running -> lost: x3: connection to .* lost: .*\[lost\]/);
    expect(log).toMatch(/Z x3 state lost -> rejoining/);
    expect(log).toMatch(/Z x3 state rejoining -> probing: reconnected .* leftover process\(es\) of this run killed/);
    // The rejoined host took work again: a batch after the loss.
    expect(x3.batches.length).toBeGreaterThanOrEqual(2);
    // Twice the duration, plus boot and the keepalive's loss detection as margins.
    expect(summary.timings.runMs).toBeLessThan(2 * (duration + 20) * 1000);
    expect(ended - cut).toBeLessThan(2 * (duration + 20) * 1000);
  }, 8 * MINUTES);

  it('SIGINT on the kvm-remote command: nothing of the run left on any host, the run directory says interrupted, kvm-again reruns it', async () => {
    const name = 'sigint';
    const runDir = path.join(results, name);
    const child = execa('node', [...nodeArgsForModule(path.join(root, 'test/farm/kvm-remote-main.ts')),
      'x1 x2', kernels, '--configs', 'UP01-SMALL UP01-SMALL.2 UP01-SMALL.3', '--duration', '60s', '--rundir', runDir,
      '-F', farm().configFile, '--accel', 'tcg'], { reject: false, timeout: 5 * MINUTES, all: true });
    try {
      await logLine(path.join(runDir, 'remote-log'), /Z x1 state ready -> running/, 3 * MINUTES);
      await logLine(path.join(runDir, 'remote-log'), /Z x2 state ready -> running/, MINUTES);
      await new Promise((r) => setTimeout(r, 5_000));
      for (const h of ['x1', 'x2']) expect((await leftovers(h, name)).some((l) => l.includes('qemu-system')), h).toBe(true);
      const signalled = Date.now();
      child.kill('SIGINT');
      const ended = await child;
      expect(Date.now() - signalled).toBeLessThan(40_000);
      expect(ended.exitCode, ended.all).toBe(130);
      expect(ended.all).toMatch(/SIGINT: stopping every guest/);
    } finally {
      child.kill('SIGKILL');
    }
    for (const h of ['x1', 'x2', 'x3']) expect(await leftovers(h, name), h).toEqual([]);
    expect(await farm().inside('x1', ['ls', '-A', '/tmp/kvm-farm/runs'])).toBe('');
    expect(existsSync(path.join(runDir, 'interrupted'))).toBe(true);
    const summary = JSON.parse(readFileSync(path.join(runDir, 'summary.json'), 'utf8')) as RemoteSummary;
    expect(summary.interrupted).toBe(true);
    expect(summary.hosts.map((h) => h.state)).toEqual(['done', 'done']);
    const never = summary.instances.filter((x) => !x.guest);
    expect(never.map((x) => x.verdict?.reasons)).toEqual([['not run: the run was interrupted']]);
    for (const x of summary.instances.filter((i) => i.guest)) expect(x.guest!.stopped, x.instance).toBe(true);
    const again = await againRun({ runDir, dryrun: true, newRunDir: path.join(results, 'sigint-again') });
    expect(again.instances.map((x) => x.instance).sort()).toEqual(['UP01-SMALL', 'UP01-SMALL.2', 'UP01-SMALL.3']);
  }, 8 * MINUTES);

  it('a second SIGINT exits at once', async () => {
    const name = 'sigint-twice';
    const runDir = path.join(results, name);
    const child = execa('node', [...nodeArgsForModule(path.join(root, 'test/farm/kvm-remote-main.ts')),
      'x2', kernels, '--configs', 'UP01-SMALL', '--duration', '10s', '--rundir', runDir, '-F', farm().configFile, '--accel', 'tcg'],
    { reject: false, timeout: 5 * MINUTES, all: true });
    try {
      await logLine(path.join(runDir, 'remote-log'), /Z x2 state ready -> running/, 3 * MINUTES);
      const signalled = Date.now();
      child.kill('SIGINT');
      await new Promise((r) => setTimeout(r, 200));
      child.kill('SIGINT');
      const ended = await child;
      expect(Date.now() - signalled).toBeLessThan(3_000);
      expect(ended.exitCode, ended.all).toBe(130);
      expect(ended.all).toMatch(/SIGINT again: exiting now; guests may be left running/);
    } finally {
      child.kill('SIGKILL');
      // As documented, the guest may be left running: end it here (by its pid) so later tests have the CPUs.
      for (const line of await leftovers('x2', name)) {
        try {
          process.kill(Number(line.trim().split(/\s+/)[0]), 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
    }
  }, 5 * MINUTES);

  it('a host whose result tarball carries ../ and absolute entries writes nothing outside the scenario directory', async () => {
    const name = 'hostile';
    const escapeAbs = path.join(results, 'pwned-absolute');
    const escapeRel = path.join(results, 'pwned-relative');
    // The host's `tar` packs the real console.log plus entries aimed at the run directory and the coordinator's files.
    const evil = path.join(hostileBin, 'evil');
    writeFileSync(evil, 'written by a hostile host\n');
    writeFileSync(path.join(hostileBin, 'tar'), [
      '#!/bin/sh',
      'case " $* " in *" -c "*) ;; *) exec /bin/tar "$@";; esac',
      'for a; do [ "$p" = -C ] && d=$a; p=$a; done',
      'echo "written by a hostile host" > "$d/../hostile-evil"',
      'echo "written by a hostile host" > "$d/../hostile-con"',
      'exec /bin/tar -c -f - -P -C "$d" \\',
      `  --transform 's,^${evil}$,${escapeAbs},' \\`,
      "  --transform 's,^[.][.]/hostile-evil$,../../pwned-relative,' \\",
      "  --transform 's,^[.][.]/hostile-con$,../console.log,' \\",
      `  console.log ${evil} ../hostile-evil ../hostile-con`,
      '',
    ].join('\n'));
    chmodSync(path.join(hostileBin, 'tar'), 0o755);
    const s = await remote(name, { hosts: ['x4'], configs: 'UP01-SMALL', durationSeconds: 5 });
    expect(existsSync(escapeAbs)).toBe(false);
    expect(existsSync(escapeRel)).toBe(false);
    expect(readdirSync(s.runDir).filter((f) => f.startsWith('pwned') || f === 'console.log')).toEqual([]);
    expect(readdirSync(path.join(s.runDir, 'UP01-SMALL')).filter((f) => f.startsWith('.collect') || f.startsWith('pwned') || f === 'evil')).toEqual([]);
    expect(s.instances[0]!.verdict?.kind).toBe('pass');
    const log = readFileSync(path.join(s.runDir, 'remote-log'), 'utf8');
    const refusals = log.split('\n').find((l) => l.includes("x4 UP01-SMALL: refused from the host's result tarball"));
    expect(refusals).toContain(`${escapeAbs} (absolute path)`);
    expect(refusals).toContain("../../pwned-relative ('..' in the path)");
    expect(refusals).toContain("../console.log ('..' in the path)");
    // The console came home all the same: the guest was judged on it.
    expect(readFileSync(path.join(s.runDir, 'UP01-SMALL', 'console.log'), 'utf8')).toMatch(/End of test: SUCCESS/);
  }, 5 * MINUTES);
});
