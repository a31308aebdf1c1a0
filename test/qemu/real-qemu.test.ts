import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildKernels } from '../../src/build/build-kernels.js';
import { bundledScenarioDir, loadScenarioLibrary } from '../../src/scenarios/library.js';
import { SUITES } from '../../src/scenarios/suites.js';
import { buildQemuCommand, probeAccel, runGuest } from '../../src/qemu/index.js';
import type { Accel } from '../../src/qemu/types.js';
import { requireReal } from '../helpers/require.js';

const MINUTES = 60_000;
requireReal('qemu');

function qemuLeft(): string {
  return execFileSync('sh', ['-c', 'pgrep -a "qemu-syste[m]" || true'], { encoding: 'utf8' }).trim();
}

describe('probeAccel on this machine', () => {
  it('auto answers within a few seconds with a reason', async () => {
    const probe = await probeAccel('auto');
    // Logged so a run on a real KVM host shows what it found.
    console.log(`probeAccel('auto'): ${JSON.stringify(probe)}`);
    expect(['kvm', 'tcg']).toContain(probe.accel);
    expect(probe.usable).toBe(true);
    expect(probe.reason.length).toBeGreaterThan(10);
    expect(probe.elapsedMs).toBeLessThan(8000);
    expect(qemuLeft()).toBe('');
  });

  it('tcg needs no probe; a missing /dev/kvm falls back at once', async () => {
    expect(await probeAccel('tcg')).toMatchObject({ accel: 'tcg', usable: true, reason: 'tcg requested' });
    const none = await probeAccel('auto', { kvmDevice: '/nonexistent/kvm' });
    expect(none).toMatchObject({ accel: 'tcg', usable: true });
    expect(none.reason).toMatch(/does not exist/);
  });

  it('names the fix when the qemu binary is missing', async () => {
    // /dev/null opens read-write like a KVM device, so the probe goes on to run qemu on any host.
    await expect(probeAccel('auto', { qemuCmd: '/nonexistent/qemu', kvmDevice: '/dev/null' })).rejects.toThrow(/install qemu/);
  });
});

describe('a real kernel under qemu', () => {
  const real = requireReal('kernel-tree', 'kernel-build', 'static-gcc');
  let work: string;
  let initrd: string;
  /** UP01-SMALL, built once into the shared cache (~/.cache/kvm-farm/build) that kvm-run uses too. */
  let kernel: string;
  real.beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'kvmfarm-boot-'));
    initrd = makeSleepingInitramfs(work);
    const library = loadScenarioLibrary(bundledScenarioDir(SUITES.rcu!));
    const [built] = await buildKernels({
      kernelDir: real.kernelTree,
      instances: [{ id: 'UP01-SMALL', scenario: library.load('UP01-SMALL'), outDir: path.join(work, 'UP01-SMALL') }],
      cfcommon: library.cfcommon,
      suite: SUITES.rcu!,
      jobs: os.cpus().length,
    });
    if (!built?.kernelImage) throw new Error(`UP01-SMALL did not build: ${built?.failure?.reason}`);
    kernel = built.kernelImage;
  }, 25 * MINUTES);
  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
    expect(qemuLeft()).toBe('');
  });

  function command(name: string, accel: Accel, seconds: number) {
    const dir = path.join(work, name);
    mkdirSync(dir, { recursive: true });
    return {
      dir,
      command: buildQemuCommand({
        accel,
        kernel,
        initrd,
        consoleLog: path.join(dir, 'console.log'),
        cpus: 2,
        seconds,
        shutdownGraceSeconds: 30,
        bootArgs: ['rcutorture.stat_interval=5'],
        suite: SUITES.rcu!,
      }),
    };
  }

  it('boots under TCG to "End of test: SUCCESS" and qemu exits 0', async () => {
    const { dir, command: cmd } = command('TINY', 'tcg', 15);
    const run = await runGuest({ instance: 'TINY', command: cmd, dir, bootTimeoutSeconds: 60 });
    const consoleText = readFileSync(run.logPath, 'utf8');
    console.log(`TCG boot: ${run.durationMs} ms, exit ${run.exitCode}`);
    expect(run).toMatchObject({ exitCode: 0, timedOut: false, noOutput: false, stopped: false, startError: null, accel: 'tcg' });
    expect(consoleText).toMatch(new RegExp(`Command line: .* kvmfarm\\.token=${run.token}`));
    expect(consoleText).toContain('End of test: SUCCESS');
    expect(readFileSync(path.join(dir, 'qemu-retval'), 'utf8')).toBe('0\n');
  }, 2 * MINUTES);

  // Whether KVM works differs by host (missing, crawling under nesting, or fine): the
  // probe's kernel-free guest must agree with what a real kernel does under KVM here,
  // and a KVM guest that cannot boot must end as no-boot within its limit, not hang.
  it("auto picks kvm exactly when a real kernel boots under KVM here, and a KVM guest that cannot boot ends in time", async () => {
    const auto = await probeAccel('auto');
    const forced = await probeAccel('kvm');
    const { dir, command: cmd } = command('KVM', 'kvm', 15);
    const run = await runGuest({ instance: 'KVM', command: cmd, dir, bootTimeoutSeconds: 8 });
    const consoleText = existsSync(run.logPath) ? readFileSync(run.logPath, 'utf8') : '';
    const kvmBoots = run.exitCode === 0 && consoleText.includes('End of test: SUCCESS');
    console.log(`KVM boot: ${run.durationMs} ms, exit ${run.exitCode}, noOutput ${run.noOutput}, startError ${run.startError}; ` +
      `real kernel ${kvmBoots ? 'boots' : 'does not boot'}; probe auto: ${auto.reason}; probe kvm: ${forced.reason}`);
    expect(auto.accel).toBe(kvmBoots ? 'kvm' : 'tcg');
    expect(forced).toMatchObject({ accel: 'kvm', usable: kvmBoots });
    expect(run.timedOut).toBe(false);
    if (!kvmBoots) {
      expect(auto.reason).toMatch(/; using tcg$/);
      expect(forced.reason).toMatch(/^kvm requested, but /);
      // Either qemu could not start KVM at all, or the guest printed nothing in time.
      expect(run.noOutput || run.startError !== null).toBe(true);
      expect(run.durationMs).toBeLessThan(20_000);
    }
    expect(qemuLeft()).toBe('');
  }, 2 * MINUTES);
});

/** An initramfs whose /init is a static program that only sleeps: the kernel's torture test does the work. */
function makeSleepingInitramfs(work: string): string {
  const root = path.join(work, 'initramfs');
  mkdirSync(root, { recursive: true });
  writeFileSync(path.join(work, 'init.c'), '#include <unistd.h>\nint main(void) { for (;;) pause(); }\n');
  execFileSync('gcc', ['-static', '-Os', '-o', path.join(root, 'init'), path.join(work, 'init.c')]);
  const cpio = path.join(work, 'initrd.cpio');
  execFileSync('sh', ['-c', 'cd "$1" && echo init | cpio -o -H newc --quiet > "$2"', 'sh', root, cpio]);
  return cpio;
}
