import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cacheLayout } from '../../src/build/store.js';
import { remoteRun, type RemoteSummary } from '../../src/farm/index.js';
import { run } from '../../src/index.js';
import type { RunSummary } from '../../src/report/types.js';
import { recheckRun } from '../../src/run/recheck.js';
import { useFarm } from '../transport/farm-fixture.js';
import { requireReal } from '../helpers/require.js';
import { smallRunOptions } from '../helpers/run-options.js';

const tree = requireReal('kernel-tree', 'kernel-build', 'qemu').kernelTree;
/** Two builders, and g1 whose /tmp is too small for a build: it only runs guests, from the first kernel built. */
const BUILDERS = [{ name: 'b1', cpus: 1 }, { name: 'b2', cpus: 2 }];
const HOSTS = [...BUILDERS, { name: 'g1', cpus: 2, tmpSize: '1g' }];
// No loss is staged here: keepalives lenient enough that 1.36 GB of source and three makes on 2 cores never pass for a lost host.
const { farm } = useFarm({ hosts: HOSTS, keepaliveIntervalS: 5, keepaliveCountMax: 12 });
const scratch = mkdtempSync(path.join(os.tmpdir(), 'kvmfarm-farm-build-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
/** Three distinct kernels (BUSTED01-SMALL shares TREE02C-SMALL's: one build serves both, across the farm too). */
const CONFIGS = 'UP01-SMALL TREE02C-SMALL TREE04C-SMALL BUSTED01-SMALL';
const MINUTES = 60_000;

/**
 * The farm builds into a cache of its own, so its three kernels are really compiled
 * on the hosts; the local run uses the shared cache. The memos of the tree's identity
 * and file hashes are carried over (they are keyed by stat), so the fresh cache does
 * not hash 1.4 GB again.
 */
function freshCache(name: string): string {
  const dir = path.join(scratch, name);
  const shared = cacheLayout(undefined).root;
  for (const memo of ['tree-ids', 'source-state']) {
    const from = path.join(shared, 'build', memo);
    if (existsSync(from)) cpSync(from, path.join(dir, 'build', memo), { recursive: true });
  }
  return dir;
}

async function withCache<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const before = process.env.KVM_FARM_CACHE;
  process.env.KVM_FARM_CACHE = dir;
  try {
    return await fn();
  } finally {
    if (before === undefined) delete process.env.KVM_FARM_CACHE;
    else process.env.KVM_FARM_CACHE = before;
  }
}

/** A .config with the initramfs line left out: each cache has its own copy of the same cpio (its digest is in the cache key). */
const configText = (file: string) => readFileSync(file, 'utf8').split('\n').filter((l) => !l.startsWith('CONFIG_INITRAMFS_SOURCE=')).join('\n');

describe('kvm-remote builds on the hosts (namespace farm, real kernels)', () => {
  let local: RunSummary;
  let farmRun: RemoteSummary;
  const cache = freshCache('farm-cache');

  it('builds 3 distinct tinyconfig kernels on both hosts, runs and judges them as a local run does', async () => {
    local = await run({ ...smallRunOptions(tree, path.join(scratch, 'local'), { configs: CONFIGS, durationSeconds: 10, datestamp: 'local' }) }) as RunSummary;
    farmRun = await withCache(cache, () => remoteRun({
      hosts: HOSTS.map((h) => h.name), sshConfigFile: farm().configFile, agent: null, accel: 'tcg',
      source: { kind: 'build', options: smallRunOptions(tree, path.join(scratch, 'remote'), { configs: CONFIGS, durationSeconds: 10, datestamp: 'farm' }) },
    }));
    const builds = farmRun.builds!;
    expect(builds.buildOn).toBe('hosts');
    expect(builds.builtHere).toEqual([]);
    const built = builds.hosts.flatMap((h) => h.builds);
    expect(built.map((b) => b.ok)).toEqual([true, true, true]);
    expect(new Set(built.map((b) => b.key)).size).toBe(3);
    const g1 = builds.hosts.find((h) => h.name === 'g1')!;
    expect(g1).toMatchObject({ builder: false, builds: [] });
    expect(g1.why).toMatch(/GB free, a build needs/);
    for (const h of builds.hosts.filter((x) => x.builder)) {
      expect(h.lost, `${h.name} lost`).toBeUndefined();
      expect(h, h.name).toMatchObject({ builder: true, cpus: HOSTS.find((s) => s.name === h.name)!.cpus });
      expect(h.builds.length, `${h.name} built`).toBeGreaterThan(0);
      expect(h.source!.bytes, `${h.name}: the whole tree, once`).toBeGreaterThan(500_000_000);
    }
    // No barrier between building and running: the first guest started while a kernel was still being built.
    const firstGuest = Math.min(...farmRun.instances.map((x) => Date.parse(x.guest!.startedAt!)));
    const lastBuild = Math.max(...built.map((b) => Date.parse(b.endedAt)));
    expect(firstGuest, 'first guest started before the last build ended').toBeLessThan(lastBuild);
    const verdicts = (s: RunSummary) => Object.fromEntries(s.instances.map((x) => [x.instance, x.verdict?.kind]));
    expect(verdicts(farmRun)).toEqual(verdicts(local));
    expect(verdicts(farmRun)).toEqual({ 'UP01-SMALL': 'pass', 'TREE02C-SMALL': 'pass', 'TREE04C-SMALL': 'pass', 'BUSTED01-SMALL': 'fail' });
    // The build phase's own run directory (kvm-run --buildonly's) says how each kernel came to be.
    const buildPhase = JSON.parse(readFileSync(path.join(farmRun.sourceRunDir, 'summary.json'), 'utf8')) as RunSummary;
    expect(Object.fromEntries(buildPhase.instances.map((x) => [x.instance, x.kernel.source]))).toEqual({
      'UP01-SMALL': 'built', 'TREE02C-SMALL': 'built', 'TREE04C-SMALL': 'built', 'BUSTED01-SMALL': 'deduplicated',
    });
    for (const x of farmRun.instances) {
      expect(x.kernel.configMismatches, x.instance).toEqual(local.instances.find((l) => l.instance === x.instance)!.kernel.configMismatches);
      // The same .config as the local build, line for line.
      expect(configText(path.join(farmRun.runDir, x.instance, '.config')), x.instance).toBe(configText(path.join(local.runDir, x.instance, '.config')));
      for (const name of ['bzImage', 'vmlinux', 'System.map', 'Make.out', 'ConfigFragment', 'qemu-cmd', 'console.log', 'verdict.json']) {
        expect(readdirSync(path.join(farmRun.runDir, x.instance)), `${x.instance}/${name}`).toContain(name);
      }
    }
    // kvm-recheck reads the run directory as a local one.
    expect(Object.fromEntries((await recheckRun(farmRun.runDir)).instances.map((x) => [x.instance, x.verdict?.kind]))).toEqual(verdicts(local));
  }, 60 * MINUTES);

  it('an unchanged tree ships 0 source bytes the second time; --buildonly on the hosts leaves a kvm-run --buildonly directory', async () => {
    expect(farmRun, 'the first test ran').toBeDefined();
    // One kernel leaves the cache, so the second run has something to build.
    const kernels = path.join(cache, 'build', 'kernels');
    const wanted = readFileSync(path.join(farmRun.runDir, 'UP01-SMALL', '.config'), 'utf8');
    const entry = readdirSync(kernels).find((k) => readFileSync(path.join(kernels, k, '.config'), 'utf8') === wanted)!;
    expect(entry).toBeDefined();
    rmSync(path.join(cache, 'build', 'kernels', entry), { recursive: true, force: true });
    const again = await withCache(cache, () => remoteRun({
      hosts: HOSTS.map((h) => h.name), sshConfigFile: farm().configFile, agent: null, accel: 'tcg', buildonly: true,
      source: { kind: 'build', options: smallRunOptions(tree, path.join(scratch, 'remote'), { configs: 'UP01-SMALL', durationSeconds: 10, datestamp: 'farm-buildonly' }) },
    }));
    const hosts = again.builds!.hosts;
    expect(hosts.flatMap((h) => h.builds).map((b) => b.ok)).toEqual([true]);
    for (const h of hosts) expect(h.source?.bytes ?? 0, h.name).toBe(0);
    expect(again.buildonly).toBe(true);
    expect(again.instances.map((x) => [x.instance, x.kernel.source, x.verdict])).toEqual([['UP01-SMALL', 'built', undefined]]);
    const files = readdirSync(path.join(again.runDir, 'UP01-SMALL'));
    for (const name of ['bzImage', 'vmlinux', '.config', 'Make.out', 'qemu-cmd']) expect(files).toContain(name);
  }, 20 * MINUTES);
});
