/**
 * Real kernels from the Debian 6.1 tree (scripts/setup-kernel-tree.sh). One small config
 * (UP01-SMALL: tinyconfig plus the rcu CFcommon) is compiled once, ~4 min on 2 cores;
 * every other case reuses it from the cache, fails within seconds, or is cut short.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildKernels } from '../../src/build/build-kernels.js';
import { cacheLayout } from '../../src/build/store.js';
import type { BuildEvent, BuildInstance, BuildOptions, KernelBuildResult } from '../../src/build/types.js';
import { bundledScenarioDir, loadScenarioLibrary } from '../../src/scenarios/library.js';
import { SUITES } from '../../src/scenarios/suites.js';
import type { Scenario } from '../../src/scenarios/types.js';
import { requireReal } from '../helpers/require.js';

const real = requireReal('kernel-tree', 'kernel-build');
const KERNEL_DIR = real.kernelTree;
const MINUTES = 60_000;

const library = loadScenarioLibrary(bundledScenarioDir(SUITES.rcu!));
const small = library.load('UP01-SMALL');
const variant = (name: string, extra: string[], checks: string[] = []): Scenario => {
  const setting = (line: string, i: number) => ({
    option: line.slice(0, line.indexOf('=')),
    value: line.slice(line.indexOf('=') + 1),
    origin: `${name}:${i + 1}`,
  });
  return { ...small, name, settings: [...small.settings, ...extra.map(setting)], checks: [...small.checks, ...checks.map(setting)] };
};
/** A kernel release over 64 characters: make stops in its first seconds ("exceeds 64 characters"). */
const BROKEN = variant('BROKEN', [`CONFIG_LOCALVERSION="-${'x'.repeat(70)}"`]);
/** Same .config as UP01-SMALL (no such option exists), so it shares the kernel, but its requests are not met. */
const UNMET = variant('UNMET', ['CONFIG_KVMFARM_NO_SUCH_OPTION=y'], ['CONFIG_SMP=y']);

describe('buildKernels on a real kernel tree', () => {
  let cacheDir: string;
  let runDir: string;
  let first: KernelBuildResult[];
  const events: BuildEvent[] = [];
  const inst = (id: string, scenario: Scenario, run = 'run1'): BuildInstance => ({ id, scenario, outDir: path.join(runDir, run, id) });
  const options = (instances: BuildInstance[]): BuildOptions => ({
    kernelDir: KERNEL_DIR,
    instances,
    cfcommon: library.cfcommon,
    suite: SUITES.rcu!,
    jobs: os.cpus().length,
    cacheDir,
  });

  real.beforeAll(async () => {
    cacheDir = mkdtempSync(path.join(os.tmpdir(), 'kvmfarm-build-cache-'));
    runDir = mkdtempSync(path.join(os.tmpdir(), 'kvmfarm-build-run-'));
    first = await buildKernels({
      ...options([inst('BROKEN', BROKEN), inst('UP01-SMALL', small), inst('UP01-SMALL.2', small), inst('UNMET', UNMET)]),
      reporter: { event: (e) => events.push(e) },
    });
  }, 25 * MINUTES);

  afterAll(() => {
    if (cacheDir) rmSync(cacheDir, { recursive: true, force: true });
    if (runDir) rmSync(runDir, { recursive: true, force: true });
  });

  it('fails the broken scenario with make error lines quoted, and still builds the next one', () => {
    const broken = first[0]!;
    expect(broken.status).toBe('build-failed');
    expect(broken.failure?.reason).toMatch(/make exited with/);
    expect(broken.failure?.quoted.some((line) => line.includes('exceeds 64 characters'))).toBe(true);
    expect(broken.failure!.quoted.length).toBeLessThanOrEqual(20);
    expect(broken.kernelImage).toBeUndefined();
    expect(readFileSync(path.join(runDir, 'run1/BROKEN/Make.out'), 'utf8')).toContain('exceeds 64 characters');
    expect(first[1]!.status).toBe('built');
  });

  it('builds once for identical effective configs and lays out rcutorture files, hard-linked from the cache', () => {
    const [, built, repeat, unmet] = first;
    expect(built!.makeMs).toBeGreaterThan(0);
    expect(repeat!.status).toBe('deduplicated');
    expect(unmet!.status).toBe('deduplicated');
    expect(new Set([built!.cacheKey, repeat!.cacheKey, unmet!.cacheKey]).size).toBe(1);
    const dir = path.join(runDir, 'run1/UP01-SMALL');
    for (const name of ['bzImage', 'vmlinux', '.config', 'System.map', 'Make.out', 'ConfigFragment', 'ConfigFragment.input']) {
      expect(existsSync(path.join(dir, name)), name).toBe(true);
    }
    expect(built!.kernelImage).toBe(path.join(dir, 'bzImage'));
    const entry = path.join(cacheLayout(cacheDir).kernels, built!.cacheKey);
    expect(statSync(path.join(dir, 'vmlinux')).ino).toBe(statSync(path.join(entry, 'vmlinux')).ino);
    expect(statSync(path.join(runDir, 'run1/UP01-SMALL.2/bzImage')).ino).toBe(statSync(path.join(entry, 'bzImage')).ino);
    expect(readFileSync(path.join(dir, 'bzImage')).subarray(0x202, 0x206).toString('latin1')).toBe('HdrS');
    expect(built!.kernelVersion).toMatch(/^6\.1\.\d+$/);
    const dotConfig = readFileSync(path.join(dir, '.config'), 'utf8');
    expect(dotConfig).toContain(`CONFIG_INITRAMFS_SOURCE="${built!.initramfs}"`);
    expect(dotConfig).toContain('CONFIG_RCU_TORTURE_TEST=y');
    expect(readFileSync(path.join(dir, 'ConfigFragment'), 'utf8')).toMatch(/^CONFIG_SMP=n$/m);
    expect(built!.configMismatches).toEqual([]);
    expect(existsSync(path.join(dir, 'ConfigFragment.diags'))).toBe(false);
  });

  it('reports options that could not be set, naming them, in the result and ConfigFragment.diags', () => {
    const unmet = first[3]!;
    expect(unmet.configMismatches).toEqual([
      { option: 'CONFIG_KVMFARM_NO_SUCH_OPTION', wanted: 'y', got: null, origin: 'UNMET:1' },
      { option: 'CONFIG_SMP', wanted: 'y', got: 'n', origin: 'UNMET:1 #CHECK#' },
    ]);
    const diags = readFileSync(path.join(runDir, 'run1/UNMET/ConfigFragment.diags'), 'utf8');
    expect(diags).toContain('CONFIG_KVMFARM_NO_SUCH_OPTION');
    expect(diags).toContain('CONFIG_SMP');
  });

  it('reports each phase with elapsed time', () => {
    const phases = events.filter((e) => e.label === 'UP01-SMALL +1').map((e) => e.phase);
    expect(phases).toEqual(expect.arrayContaining(['configure', 'check', 'make', 'link', 'done']));
    expect(events.at(-1)).toMatchObject({ phase: 'done', status: 'deduplicated' });
  });

  it('rebuilds nothing for the same inputs, with or without ccache', async () => {
    const started = Date.now();
    const again = await buildKernels({ ...options([inst('UP01-SMALL', small, 'run2')]), ccache: 'off' });
    expect(again[0]).toMatchObject({ status: 'cached', makeMs: 0, cacheKey: first[1]!.cacheKey, kernelVersion: first[1]!.kernelVersion });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(existsSync(path.join(runDir, 'run2/UP01-SMALL/bzImage'))).toBe(true);
  }, 5 * MINUTES);

  it('does not run make when the suite option is not =y after configuration', async () => {
    const lock = await buildKernels({ ...options([inst('UP01-SMALL', small, 'run3')]), suite: SUITES.lock! });
    expect(lock[0]!.status).toBe('build-failed');
    expect(lock[0]!.failure?.reason).toMatch(/^CONFIG_LOCK_TORTURE_TEST is .* torture test would not be built in/);
    expect(existsSync(path.join(runDir, 'run3/UP01-SMALL/Make.out'))).toBe(false);
    expect(existsSync(path.join(runDir, 'run3/UP01-SMALL/.config'))).toBe(true);
  }, 5 * MINUTES);

  it('leaves no cache entry when a build is cut short', async () => {
    const layout = cacheLayout(cacheDir);
    const before = readdirSync(layout.kernels).sort();
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), 20_000);
    const cut = await buildKernels({
      ...options([inst('CUT', variant('CUT', ['CONFIG_LOCALVERSION="-cut"']), 'run4')]),
      signal: controller.signal,
      ccache: 'off',
    });
    clearTimeout(timer);
    expect(cut[0]).toMatchObject({ status: 'build-failed', failure: { reason: 'the build was interrupted' } });
    expect(readdirSync(layout.kernels).sort()).toEqual(before);
    expect(existsSync(layout.tmp) ? readdirSync(layout.tmp) : []).toEqual([]);
  }, 5 * MINUTES);
});
