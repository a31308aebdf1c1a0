import { describe, expect, it } from 'vitest';
import { SUITES } from '../../src/scenarios/suites.js';
import { buildQemuCommand, consoleLogOf, limitCpus, parseMemory, type QemuCommandOptions } from '../../src/qemu/index.js';

const base: QemuCommandOptions = {
  accel: 'tcg',
  kernel: '/run/TINY01/bzImage',
  consoleLog: '/run/TINY01/console.log',
  cpus: 2,
  seconds: 30,
};

function valueAfter(argv: string[], flag: string): string | undefined {
  const i = argv.indexOf(flag);
  return i < 0 ? undefined : argv[i + 1];
}

describe('buildQemuCommand', () => {
  it('builds an x86_64 TCG command in rcutorture shape', () => {
    const cmd = buildQemuCommand({ ...base, token: 'abc' });
    expect(cmd.argv[0]).toBe('qemu-system-x86_64');
    expect(valueAfter(cmd.argv, '-accel')).toBe('tcg');
    expect(valueAfter(cmd.argv, '-machine')).toBe('q35');
    expect(valueAfter(cmd.argv, '-cpu')).toBe('qemu64');
    expect(valueAfter(cmd.argv, '-smp')).toBe('2');
    expect(valueAfter(cmd.argv, '-m')).toBe('512M');
    expect(valueAfter(cmd.argv, '-net')).toBe('none');
    expect(valueAfter(cmd.argv, '-serial')).toBe('file:/run/TINY01/console.log');
    expect(valueAfter(cmd.argv, '-kernel')).toBe('/run/TINY01/bzImage');
    expect(cmd.argv).toContain('-nographic');
    expect(cmd.argv).toContain('-no-reboot');
    expect(cmd.argv).not.toContain('-initrd');
    expect(cmd.settings).toEqual({
      TORTURE_SHUTDOWN_GRACE: '180',
      seconds: '30',
      TORTURE_CPU_COUNT: '2',
      KVMFARM_TOKEN: 'abc',
      KVMFARM_ACCEL: 'tcg',
    });
    expect(cmd.warnings).toEqual([]);
    expect(consoleLogOf(cmd)).toBe('/run/TINY01/console.log');
  });

  it('uses the host CPU model under KVM and the table for other architectures', () => {
    const kvm = buildQemuCommand({ ...base, accel: 'kvm' });
    expect(valueAfter(kvm.argv, '-accel')).toBe('kvm');
    expect(valueAfter(kvm.argv, '-cpu')).toBe('host');
    const arm = buildQemuCommand({ ...base, arch: 'arm64' });
    expect(arm.argv[0]).toBe('qemu-system-aarch64');
    expect(valueAfter(arm.argv, '-machine')).toBe('virt');
    expect(valueAfter(arm.argv, '-append')).toContain('console=ttyAMA0');
    const ppc = buildQemuCommand({ ...base, arch: 'ppc64le' });
    expect(ppc.argv[0]).toBe('qemu-system-ppc64');
    expect(valueAfter(ppc.argv, '-append')).toContain('console=hvc0');
  });

  it('limits -smp to the allotment and says so', () => {
    const cmd = buildQemuCommand({ ...base, cpus: 8, allottedCpus: 2 });
    expect(valueAfter(cmd.argv, '-smp')).toBe('2');
    expect(cmd.settings.TORTURE_CPU_COUNT).toBe('2');
    expect(cmd.warnings).toEqual(['CPU count limited from 8 to 2']);
    expect(limitCpus(1, 2)).toEqual({ cpus: 1 });
  });

  it('adds -initrd, --qemu-cmd and --qemu-args; the user -smp and -net win', () => {
    const cmd = buildQemuCommand({
      ...base,
      initrd: '/tmp/initrd.cpio',
      qemuCmd: '/opt/qemu/bin/qemu-system-x86_64',
      qemuArgs: ['-smp', '4', '-netdev', 'user,id=n0'],
    });
    expect(cmd.argv[0]).toBe('/opt/qemu/bin/qemu-system-x86_64');
    expect(valueAfter(cmd.argv, '-initrd')).toBe('/tmp/initrd.cpio');
    expect(cmd.argv.filter((w) => w === '-smp')).toHaveLength(1);
    expect(cmd.argv).not.toContain('-net');
    expect(cmd.argv.slice(-4)).toEqual(['-smp', '4', '-netdev', 'user,id=n0']);
  });

  it('orders the boot line: defaults, console, .boot, --bootargs, suite, token', () => {
    const cmd = buildQemuCommand({
      ...base,
      token: 'feed',
      scenarioBootArgs: ['rcutorture.torture_type=srcu'],
      bootArgs: ['rcutorture.stat_interval=5', 'nohz_full=1'],
      suite: SUITES.rcu!,
    });
    expect(valueAfter(cmd.argv, '-append')!.split(' ')).toEqual([
      'debug_boot_weak_hash',
      'panic=-1',
      'selinux=0',
      'initcall_debug',
      'debug',
      'console=ttyS0',
      'rcutorture.torture_type=srcu',
      'rcutorture.stat_interval=5',
      'nohz_full=1',
      'rcutorture.shutdown_secs=30',
      'rcutorture.n_barrier_cbs=4',
      'rcutorture.test_no_idle_hz=1',
      'rcutorture.verbose=1',
      'kvmfarm.token=feed',
    ]);
  });

  it('gives every guest a fresh token', () => {
    const tokens = new Set(Array.from({ length: 50 }, () => buildQemuCommand(base).token));
    expect(tokens.size).toBe(50);
    for (const t of tokens) expect(t).toMatch(/^[0-9a-f]{16}$/);
    const cmd = buildQemuCommand(base);
    expect(valueAfter(cmd.argv, '-append')).toMatch(new RegExp(` kvmfarm\\.token=${cmd.token}$`));
    expect(cmd.settings.KVMFARM_TOKEN).toBe(cmd.token);
  });

  it('rejects an unusable duration', () => {
    expect(() => buildQemuCommand({ ...base, seconds: 0 })).toThrow(/positive/);
  });
});

describe('parseMemory', () => {
  it.each([
    [undefined, '512M'],
    [512, '512M'],
    ['512', '512M'],
    ['512M', '512M'],
    ['512m', '512M'],
    ['2G', '2048M'],
    ['1GiB', '1024M'],
  ])('%s -> %s', (input, out) => {
    expect(parseMemory(input)).toBe(out);
  });

  it.each(['', '0', '-1', '1.5G', '512K', 'lots'])('refuses %j', (input) => {
    expect(() => parseMemory(input)).toThrow(/write it like 512, 512M or 2G/);
  });
});
