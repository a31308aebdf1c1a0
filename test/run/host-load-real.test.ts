import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { allowedCpus, formatCpuList } from '../../src/host-load/affinity.js';
import { runLockPath } from '../../src/rundir/run-lock.js';
import { nodeArgsForModule } from '../../src/util/module-worker.js';
import { guestsOf, jitterProcesses } from '../helpers/processes.js';
import { requireReal } from '../helpers/require.js';
import { waitFor } from '../helpers/wait.js';

/**
 * kvm.sh's host side with real guests: --jitter, CPU pinning and the run lock, each
 * watched from outside the run (/proc), as a person would check them.
 */
const tree = requireReal('kernel-tree', 'kernel-build', 'qemu').kernelTree;
const results = mkdtempSync(path.join(os.tmpdir(), 'kvmfarm-hostload-'));
afterAll(() => rmSync(results, { recursive: true, force: true }));
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MINUTES = 60_000;

/** kvm-run as a real process (from source), with its output gathered as it comes. */
function kvmRun(args: string[]): { child: ResultPromise; output: () => string } {
  const child = execa('node', [...nodeArgsForModule(path.join(root, 'test/run/kvm-run-main.ts')), '--kernel-dir', tree, '--scenarios', path.join(root, 'scenarios/rcu'), '--results', results, '--accel', 'tcg', '--shutdown-grace', '60', ...args], {
    reject: false,
    all: true,
    timeout: 15 * MINUTES,
    env: { CI: '1' },
  });
  let text = '';
  child.all!.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { child, output: () => text };
}

async function waitForOutput(run: { output: () => string }, needle: string, ms: number): Promise<void> {
  await waitFor(() => run.output().includes(needle), ms).catch(() => {
    throw new Error(`"${needle}" not seen within ${ms / 1000} s:\n${run.output()}`);
  });
}

function summaryOf(runDir: string) {
  return JSON.parse(readFileSync(path.join(runDir, 'summary.json'), 'utf8')) as {
    interrupted: boolean;
    instances: { instance: string; affinity?: string; verdict: { kind: string; reasons: string[] } }[];
  };
}

describe('--jitter and CPU pinning with real guests', () => {
  it('pins the two 1-CPU guests of a batch to their own CPUs and runs the jitter only while they run', async () => {
    const runDir = path.join(results, 'pinned');
    const run = kvmRun(['--configs', '2*UP01-SMALL', '--cpus', '2', '--duration', '20s', '--jitter', '2 100000', '--datestamp', 'pinned']);
    await waitForOutput(run, 'Start batch 1', 10 * MINUTES);
    // Both guests up, each on a CPU of its own, read back from the kernel's view of each qemu.
    await waitFor(() => guestsOf(runDir).length === 2, 60_000);
    const cpus = allowedCpus();
    expect(guestsOf(runDir).map((g) => g.cpus).sort()).toEqual([String(cpus[0]), String(cpus[1])]);
    const jitter = jitterProcesses(runDir);
    expect(jitter).toHaveLength(2);
    const result = await run.child;
    expect(result.exitCode, run.output()).toBe(0);
    expect(guestsOf(runDir)).toEqual([]);
    expect(jitterProcesses(runDir)).toEqual([]);
    for (const j of jitter) expect(existsSync(`/proc/${j.pid}`), `jitter pid ${j.pid}`).toBe(false);
    const summary = summaryOf(runDir);
    expect(summary.instances.map((x) => x.verdict.kind)).toEqual(['pass', 'pass']);
    expect(summary.instances.map((x) => x.affinity).sort()).toEqual([String(cpus[0]), String(cpus[1])]);
    expect(readFileSync(path.join(runDir, 'log'), 'utf8')).toMatch(/Jitter: 2 processes/);
  }, 15 * MINUTES);

  it('--no-affinity leaves the guest on every CPU, --jitter 0 starts none, and a lock left by a dead run is taken over', async () => {
    const runDir = path.join(results, 'unpinned');
    // A lock file naming a run that died without letting go: nobody holds it any more.
    const dead = spawnSync('true');
    writeFileSync(runLockPath(tree, results), JSON.stringify({ pid: dead.pid, host: os.hostname(), startedAt: '', kernelTree: tree, runDir: path.join(results, 'crashed') }));
    const run = kvmRun(['--configs', 'UP01-SMALL', '--cpus', '2', '--duration', '10s', '--no-affinity', '--jitter', '0', '--datestamp', 'unpinned']);
    await waitForOutput(run, 'Start batch 1', 10 * MINUTES);
    await waitFor(() => guestsOf(runDir).length === 1, 60_000);
    expect(guestsOf(runDir)[0]!.cpus).toBe(formatCpuList(allowedCpus()));
    expect(jitterProcesses(runDir)).toEqual([]);
    const result = await run.child;
    expect(result.exitCode, run.output()).toBe(0);
    expect(run.output()).toContain(`Taking over the lock of run pid ${dead.pid}, which is gone`);
    expect(summaryOf(runDir).instances[0]!.affinity).toBeUndefined();
  }, 15 * MINUTES);
});

describe('one run per kernel tree and results directory, with real guests', () => {
  it('refuses a second run naming the first, and --kill-previous stops the first cleanly and runs', async () => {
    const first = kvmRun(['--configs', 'UP01-SMALL', '--duration', '300s', '--datestamp', 'first']);
    const firstDir = path.join(results, 'first');
    await waitForOutput(first, 'Start batch 1', 10 * MINUTES);
    await waitFor(() => guestsOf(firstDir).length === 1 && jitterProcesses(firstDir).length > 0, 60_000);

    const refused = kvmRun(['--configs', 'UP01-SMALL', '--duration', '10s', '--datestamp', 'refused']);
    const r = await refused.child;
    expect(r.exitCode, refused.output()).toBe(2);
    const lines = (r.stderr as string).split('\n').filter((l) => l !== '');
    expect(lines).toEqual([
      `kvm-run: another run is using this kernel tree and results directory (pid ${first.child.pid}, run directory ${firstDir}); wait for it to end, or add --kill-previous to stop it`,
    ]);
    expect(existsSync(path.join(results, 'refused'))).toBe(false);
    expect(guestsOf(firstDir)).toHaveLength(1);

    const second = kvmRun(['--configs', 'UP01-SMALL', '--duration', '10s', '--datestamp', 'second', '--kill-previous']);
    const firstEnd = await first.child;
    expect(firstEnd.exitCode, first.output()).toBe(130);
    expect(existsSync(path.join(firstDir, 'interrupted'))).toBe(true);
    expect(summaryOf(firstDir).interrupted).toBe(true);
    expect(guestsOf(firstDir)).toEqual([]);
    expect(jitterProcesses(firstDir)).toEqual([]);
    const secondEnd = await second.child;
    expect(secondEnd.exitCode, second.output()).toBe(0);
    expect(second.output()).toContain(`Stopping the previous run (pid ${first.child.pid}, run directory ${firstDir})`);
    expect(summaryOf(path.join(results, 'second')).instances[0]!.verdict.kind).toBe('pass');
  }, 20 * MINUTES);
});
