import { readFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { run } from '../../src/index.js';
import { bundledScenarioDir } from '../../src/scenarios/library.js';
import { SUITES } from '../../src/scenarios/suites.js';
import { requireReal } from '../helpers/require.js';
import { runCli } from '../helpers/run-cli.js';

const tree = requireReal('kernel-tree').kernelTree;
const own = (suite: string) => path.join(tree, 'tools/testing/selftests/rcutorture/configs', suite);

/** Batch numbers of `--dryrun batches` output (`N NAME CPUS` lines). */
function batchCount(text: string): number {
  const numbers = text.split('\n').map((l) => /^(\d+) \S+ \d+/.exec(l)?.[1]).filter((n): n is string => n !== undefined);
  return new Set(numbers).size;
}

describe("inside an unchanged kernel tree, with no --scenarios: the tree's own scenarios", () => {
  it.each([64, 8])('kvm-run --configs "5*CFLIST" --cpus %i --dryrun batches: no more batches than kvm.sh --dryrun batches, same names', async (cpus) => {
    const args = ['--configs', '5*CFLIST', '--cpus', String(cpus), '--dryrun', 'batches'];
    // The kernel's own kvm.sh, run as a developer would; --dryrun builds and writes nothing.
    const upstream = await execa(path.join(tree, 'tools/testing/selftests/rcutorture/bin/kvm.sh'), args, { cwd: tree, reject: false, timeout: 120_000 });
    expect(upstream.exitCode).toBe(0);
    const ours = await runCli('kvm-run', args, { cwd: tree });
    expect(ours.exitCode).toBe(0);
    expect(ours.errLines).toEqual([`Scenario directory: ${own('rcu')} (the kernel tree's own; --scenarios bundled for kvm-farm's)`]);
    const theirs = batchCount(upstream.stdout);
    expect(theirs).toBe(cpus === 64 ? 8 : 50);
    expect(batchCount(ours.stdout)).toBeLessThanOrEqual(theirs);
    const names = (text: string) => text.split('\n').filter((l) => /^\d+ /.test(l)).map((l) => l.split(' ')[1]).sort();
    expect(names(ours.stdout)).toEqual(names(upstream.stdout));
  }, 180_000);

  it.each(['lock', 'scf', 'rcuscale', 'refscale'])('--torture %s takes configs/%s of the tree', async (suite) => {
    const plan = await run({ torture: suite, kernelDir: tree, dryrun: 'batches' });
    expect(plan).toMatchObject({ scenariosDir: own(suite), scenariosSource: 'tree' });
    const cflist = readFileSync(path.join(own(suite), 'CFLIST'), 'utf8').split(/\s+/).filter((w) => w && !w.startsWith('#'));
    expect(plan.batches.flatMap((b) => b.instances.map((x) => x.scenario)).sort()).toEqual([...cflist].sort());
  });

  it('--scenarios bundled takes kvm-farm\'s own, from inside the tree too', async () => {
    const r = await runCli('kvm-run', ['--scenarios', 'bundled', '--configs', 'UP01-SMALL', '--dryrun', 'batches'], { cwd: tree });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe('1 UP01-SMALL 1');
    expect(r.errLines).toEqual([`Scenario directory: ${bundledScenarioDir(SUITES.rcu!)} (kvm-farm's bundled scenarios)`]);
  }, 60_000);

  it('a --dryrun script names the directory too', async () => {
    const plan = await run({ kernelDir: tree, configs: 'TINY01', dryrun: 'script' });
    expect(plan.text.split('\n')[1]).toBe(`# Scenario directory: ${own('rcu')} (the kernel tree's own; --scenarios bundled for kvm-farm's)`);
  });
});
