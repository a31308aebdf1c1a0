import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SUITES } from '../../src/scenarios/suites.js';
import { buildQemuCommand, probeAccel, runGuest } from '../../src/qemu/index.js';

const QEMU = 'qemu-system-x86_64';
const hasQemu = (() => {
  try {
    execFileSync(QEMU, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const KERNEL = process.env.KVM_FARM_TEST_KERNEL;
const hasKvm = existsSync('/dev/kvm');

function qemuLeft(): string {
  return execFileSync('sh', ['-c', 'pgrep -a "qemu-syste[m]" || true'], { encoding: 'utf8' }).trim();
}

describe.skipIf(!hasQemu)('probeAccel on this machine', () => {
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

  it.skipIf(!hasKvm || process.env.KVM_FARM_KVM_WORKS === '1')(
    'auto falls back to tcg where KVM guests crawl, and a forced kvm is reported unusable',
    async () => {
      const auto = await probeAccel('auto');
      expect(auto.accel).toBe('tcg');
      expect(auto.reason).toMatch(/kvm probe guest did not finish within .*; using tcg$/);
      const forced = await probeAccel('kvm');
      expect(forced).toMatchObject({ accel: 'kvm', usable: false });
      expect(forced.reason).toMatch(/^kvm requested, but /);
      expect(qemuLeft()).toBe('');
    },
  );

  it('tcg needs no probe; a missing /dev/kvm falls back at once', async () => {
    expect(await probeAccel('tcg')).toMatchObject({ accel: 'tcg', usable: true, reason: 'tcg requested' });
    const none = await probeAccel('auto', { kvmDevice: '/nonexistent/kvm' });
    expect(none).toMatchObject({ accel: 'tcg', usable: true });
    expect(none.reason).toMatch(/does not exist/);
  });

  it('names the fix when the qemu binary is missing', async () => {
    if (!hasKvm) return;
    await expect(probeAccel('auto', { qemuCmd: '/nonexistent/qemu' })).rejects.toThrow(/install qemu/);
  });
});

describe.skipIf(!hasQemu)('a real kernel under qemu', () => {
  let work: string;
  let initrd: string;
  beforeAll(() => {
    work = mkdtempSync(path.join(tmpdir(), 'kvmfarm-boot-'));
    initrd = makeSleepingInitramfs(work);
  });
  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
    expect(qemuLeft()).toBe('');
  });

  function command(name: string, accel: 'kvm' | 'tcg', seconds: number) {
    const dir = path.join(work, name);
    mkdirSync(dir, { recursive: true });
    return {
      dir,
      command: buildQemuCommand({
        accel,
        kernel: KERNEL!,
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

  it.skipIf(!KERNEL)(
    'boots under TCG to "End of test: SUCCESS" and qemu exits 0 (set KVM_FARM_TEST_KERNEL to a bzImage with CONFIG_RCU_TORTURE_TEST=y to run)',
    async () => {
      const { dir, command: cmd } = command('TINY', 'tcg', 15);
      const run = await runGuest({ instance: 'TINY', command: cmd, dir, bootTimeoutSeconds: 60 });
      const consoleText = readFileSync(run.logPath, 'utf8');
      console.log(`TCG boot: ${run.durationMs} ms, exit ${run.exitCode}`);
      expect(run).toMatchObject({ exitCode: 0, timedOut: false, noOutput: false, stopped: false, startError: null, accel: 'tcg' });
      expect(consoleText).toMatch(new RegExp(`Command line: .* kvmfarm\\.token=${run.token}`));
      expect(consoleText).toContain('End of test: SUCCESS');
      expect(readFileSync(path.join(dir, 'qemu-retval'), 'utf8')).toBe('0\n');
    },
    120_000,
  );

  it.skipIf(!KERNEL || !hasKvm || process.env.KVM_FARM_KVM_WORKS === '1')(
    'under KVM on this host ends as no-boot within its limit, not as a hang',
    async () => {
      const { dir, command: cmd } = command('KVM', 'kvm', 15);
      const run = await runGuest({ instance: 'KVM', command: cmd, dir, bootTimeoutSeconds: 8 });
      console.log(`KVM boot attempt: ${run.durationMs} ms, noOutput ${run.noOutput}`);
      expect(run).toMatchObject({ noOutput: true, timedOut: false, accel: 'kvm' });
      expect(run.durationMs).toBeLessThan(20_000);
      expect(qemuLeft()).toBe('');
    },
    60_000,
  );
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
