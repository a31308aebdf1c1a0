import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/kvm-remote.js';
import { remoteRun, type RemoteOptions, type RemoteSummary } from '../../src/farm/index.js';
import { parseQemuCmdFile } from '../../src/qemu/index.js';
import { recheckRun } from '../../src/run/recheck.js';
import { requireReal } from '../helpers/require.js';
import { smallRunOptions } from '../helpers/run-options.js';
import { expectCleanFarmRun, INSTANCE_LAYOUT, RUN_LAYOUT } from '../helpers/farm-run-checks.js';
import type { Cluster } from './cluster.js';
import { useCluster } from './cluster-fixture.js';

const tree = requireReal('kernel-tree', 'kernel-build', 'qemu').kernelTree;
/** The ssh farm test's shape: nodes of 1, 2 and 2 CPUs. */
const NODES = [
  { name: 'sn1', cpus: 1 },
  { name: 'sn2', cpus: 2 },
  { name: 'sn3', cpus: 2 },
];
const cluster = useCluster(NODES);
const results = mkdtempSync(path.join(os.tmpdir(), 'kvmfarm-slurm-'));
afterAll(() => (process.env.KVMFARM_KEEP_RESULTS ? console.log(`kept ${results}`) : rmSync(results, { recursive: true, force: true })));
const MINUTES = 60_000;

function onSlurm(over: Partial<RemoteOptions> & Pick<RemoteOptions, 'source'>): Promise<RemoteSummary> {
  return remoteRun({ hosts: [], slurm: { sallocArgs: ['--nodes=3', '--exclusive'], env: cluster().env }, accel: 'tcg', ...over });
}

/** No job, no step: the allocation is gone. */
async function squeue(c: Cluster): Promise<string> {
  return (await c.client(['squeue', '-h', '-o', '%i %T'])) + (await c.client(['squeue', '-h', '-s']));
}

/** Processes named qemu* inside any node's network namespace. */
async function qemusOnNodes(c: Cluster): Promise<string[]> {
  const left: string[] = [];
  for (const n of c.nodes) {
    const pids = (await execa('ip', ['netns', 'pids', n.namespace], { reject: false })).stdout.split('\n').filter(Boolean);
    for (const pid of pids) {
      try {
        const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
        if (comm.startsWith('qemu')) left.push(`${n.name}:${pid}`);
      } catch {
        // Ended meanwhile.
      }
    }
  }
  return left;
}

let first: RemoteSummary | undefined;

describe('kvm-remote --slurm on a namespace Slurm cluster (real kernels, TCG)', () => {
  it('runs the ssh farm\'s 6 instances as job steps, judged into a run directory laid out as a local one', async () => {
    const summary = await onSlurm({
      source: { kind: 'build', options: smallRunOptions(tree, results, { configs: '3*UP01-SMALL 2*TREE02C-SMALL BUSTED01-SMALL', datestamp: 'slurm' }) },
    });
    first = summary;
    const kinds = Object.fromEntries(summary.instances.map((x) => [x.instance, x.verdict?.kind]));
    expect(kinds).toEqual({
      'UP01-SMALL': 'pass', 'UP01-SMALL.2': 'pass', 'UP01-SMALL.3': 'pass', 'TREE02C-SMALL': 'pass', 'TREE02C-SMALL.2': 'pass', 'BUSTED01-SMALL': 'fail',
    });
    expect(summary.exitCode).toBe(1);
    for (const x of summary.instances) {
      expect(x.guest!.durationMs, x.instance).toBeGreaterThan(30_000);
      expect(NODES.map((n) => n.name)).toContain(x.host);
    }
    // The CPUs are Slurm's (the allocation's), not nproc's: sn1 has 1 although the machine has 2.
    expectCleanFarmRun(summary, NODES);
    const dir = summary.runDir;
    const log = readFileSync(path.join(dir, 'remote-log'), 'utf8');
    expect(log).toMatch(/allocation \d+ granted after .*sn1 \(1 CPUs\), sn2 \(2 CPUs\), sn3 \(2 CPUs\)/);
    expect(log).toMatch(/allocation \d+ released/);
    // Each console came home whole through its step's stdout, as a tar stream.
    expect(log).not.toMatch(/refused from the host/);
    for (const n of NODES) {
      for (const event of [/probed: \d CPUs/, /shipped \d+ bytes/, /batch \d+ started/, /collected /, /removed \/tmp\/kvm-farm\/runs\//]) {
        expect(log.split('\n').some((l) => l.includes(` ${n.name} `) && event.test(l)), `${n.name}: ${event}`).toBe(true);
      }
      // Each node's /tmp is its own: the kernels went there, the run's directory is gone.
      expect(await cluster().inside(n.name, ['ls', '-A', '/tmp/kvm-farm/runs'])).toBe('');
    }
    expect(await squeue(cluster())).toBe('');
    const recheck = await recheckRun(dir);
    expect(Object.fromEntries(recheck.instances.map((x) => [x.instance, x.verdict?.kind]))).toEqual(kinds);
  }, 15 * MINUTES);

  it('two guests at once on one node: both judged, the node never taken for lost', async () => {
    expect(first).toBeDefined();
    const runDir = path.join(results, 'pair');
    const summary = await onSlurm({
      slurm: { sallocArgs: ['--nodes=1', '--exclusive', '--nodelist=sn2'], env: cluster().env },
      source: { kind: 'again', options: { runDir: first!.runDir, configs: 'UP01-SMALL UP01-SMALL.2 UP01-SMALL.3', durationSeconds: 10, newRunDir: runDir } },
    });
    const log = readFileSync(path.join(runDir, 'remote-log'), 'utf8');
    expect(log).not.toMatch(/ lost/);
    expect(summary.hosts.map((h) => [h.name, h.losses, h.batches.map((b) => b.instances.length)])).toEqual([['sn2', 0, [2, 1]]]);
    expect(summary.instances.map((x) => x.verdict?.kind)).toEqual(['pass', 'pass', 'pass']);
  }, 5 * MINUTES);

  it('a node set DOWN mid-batch: its instances rerun on the others, nothing lost, the allocation released', async () => {
    expect(first).toBeDefined();
    const c = cluster();
    await waitIdle(c);
    const runDir = path.join(results, 'down');
    const running = onSlurm({ retries: 2, source: { kind: 'again', options: { runDir: first!.runDir, durationSeconds: 20, newRunDir: runDir } } });
    let downAt = 0;
    try {
      await waitForLog(path.join(runDir, 'remote-log'), / sn3 state ready -> running: batch \d+ started/, 2 * MINUTES);
      await new Promise((r) => setTimeout(r, 5_000));
      await c.client(['scontrol', 'update', 'nodename=sn3', 'state=down', 'reason=kvmfarm-test']);
      downAt = Date.now();
      const summary = await running;
      expect(Object.fromEntries(summary.instances.map((x) => [x.instance, x.verdict?.kind]))).toEqual({
        'UP01-SMALL': 'pass', 'UP01-SMALL.2': 'pass', 'UP01-SMALL.3': 'pass', 'TREE02C-SMALL': 'pass', 'TREE02C-SMALL.2': 'pass', 'BUSTED01-SMALL': 'fail',
      });
      const sn3 = summary.hosts.find((h) => h.name === 'sn3')!;
      expect(sn3.losses).toBeGreaterThanOrEqual(1);
      const rerun = summary.instances.filter((x) => x.warnings?.some((w) => w.includes('rerun after host loss (sn3)')));
      expect(rerun.length).toBeGreaterThan(0);
      for (const x of rerun) {
        expect(x.host).not.toBe('sn3');
        expect(readdirSync(path.join(runDir, x.instance)).some((f) => f.startsWith('console.log.lost-sn3-'))).toBe(true);
      }
      const log = readFileSync(path.join(runDir, 'remote-log'), 'utf8');
      expect(log).toMatch(/sn3 state running -> lost: sn3: .*(DOWN|Node failure|step ended)/);
      expect(log).toMatch(/allocation \d+ released/);
      expect(await squeue(c)).toBe('');
      expect(await qemusOnNodes(c)).toEqual([]);
    } finally {
      await running.catch(() => {});
      // ReturnToService=2 may have brought it back already; then resume has nothing to do.
      if (downAt) await execa('scontrol', ['update', 'nodename=sn3', 'state=resume'], { env: c.env, cwd: '/', reject: false });
    }
  }, 10 * MINUTES);

  it('Ctrl-C: no step and no qemu left on any node, the allocation released', async () => {
    expect(first).toBeDefined();
    const c = cluster();
    await waitIdle(c);
    const runDir = path.join(results, 'interrupted');
    const abort = new AbortController();
    const running = onSlurm({ signal: abort.signal, source: { kind: 'again', options: { runDir: first!.runDir, durationSeconds: 60, newRunDir: runDir } } });
    await waitForLog(path.join(runDir, 'remote-log'), /sn3 state ready -> running/, 2 * MINUTES);
    await waitForLog(path.join(runDir, 'remote-log'), /sn1 state ready -> running/, MINUTES);
    await new Promise((r) => setTimeout(r, 5_000));
    expect((await qemusOnNodes(c)).length).toBeGreaterThan(0);
    abort.abort();
    const summary = await running;
    expect(summary.interrupted).toBe(true);
    expect(await squeue(c)).toBe('');
    expect(await qemusOnNodes(c)).toEqual([]);
    expect(readFileSync(path.join(runDir, 'remote-log'), 'utf8')).toMatch(/allocation \d+ released/);
  }, 5 * MINUTES);

  it('kvm-remote --slurm "SALLOC ARGS" RUNDIR: the command line runs a rerun on the allocation and prints each node', async () => {
    expect(first).toBeDefined();
    const c = cluster();
    await waitIdle(c);
    const out: string[] = [];
    const err: string[] = [];
    const before = process.env.SLURM_CONF;
    process.env.SLURM_CONF = c.conf;
    try {
      const status = await main(
        ['--slurm', '--nodes=2 --exclusive --nodelist=sn2,sn3', first!.runDir, '--configs', 'UP01-SMALL TREE02C-SMALL', '--duration', '5s', '--rundir', path.join(results, 'cli'), '--accel', 'tcg'],
        { out: (l) => out.push(l), err: (l) => err.push(l) },
      );
      expect(err).toEqual([]);
      expect(status).toBe(0);
    } finally {
      if (before === undefined) delete process.env.SLURM_CONF;
      else process.env.SLURM_CONF = before;
    }
    expect(out.filter((l) => /^host sn[23]: 2 CPUs, tcg, 1 batch\(es\)/.test(l))).toHaveLength(2);
    expect(await squeue(c)).toBe('');
  }, 5 * MINUTES);

  it('an allocation Slurm refuses stops the run with salloc\'s reason, and leaves nothing queued', async () => {
    expect(first).toBeDefined();
    const c = cluster();
    const run = remoteRun({
      hosts: [], slurm: { sallocArgs: ['--partition=nosuch'], env: c.env },
      source: { kind: 'again', options: { runDir: first!.runDir, configs: 'UP01-SMALL', newRunDir: path.join(results, 'refused') } },
    });
    await expect(run).rejects.toThrow(/salloc --partition=nosuch: .*(invalid partition|nosuch)/i);
    expect(await squeue(c)).toBe('');
  }, MINUTES);
});

async function waitForLog(file: string, pattern: RegExp, limitMs: number): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (Date.now() < deadline) {
    try {
      if (pattern.test(readFileSync(file, 'utf8'))) return;
    } catch {
      // Not written yet.
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${file}: no line matching ${pattern} within ${limitMs / 1000} s`);
}

/** Every node idle again (a node resumed after the DOWN test registers within seconds). */
async function waitIdle(c: Cluster): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const states = (await c.client(['sinfo', '-h', '-N', '-o', '%T'])).split('\n').map((l) => l.trim());
    if (states.every((s) => s === 'idle')) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error('the cluster\'s nodes did not all come back idle');
}
