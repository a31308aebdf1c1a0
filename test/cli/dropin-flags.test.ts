import { describe, expect, it } from 'vitest';
import { configLayers, mergeLayers } from '../../src/build/config.js';
import { main } from '../../src/cli/kvm-run.js';
import { main as remoteMain } from '../../src/cli/kvm-remote.js';
import { resolveRunOptions } from '../../src/options/resolve-run.js';
import { parseKconfigText } from '../../src/scenarios/fragment.js';

async function kvmRun(...argv: string[]): Promise<{ status: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const status = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { status, out, err };
}

describe("kvm.sh's flags in kvm-run", () => {
  it.each([
    ['--interactive', []],
    ['--mac', ['00:11:22:33:44:55']],
    ['--no-initrd', []],
    ['--bootimage', ['arch/x86/boot/bzImage']],
    ['--remote', []],
  ])('%s is refused in one line that says why and what instead, exit 2', async (flag, value) => {
    const r = await kvmRun('--configs', 'UP01-SMALL', flag, ...value, '--dryrun', 'batches');
    expect(r.status).toBe(2);
    expect(r.err).toHaveLength(1);
    expect(r.err[0]).toMatch(new RegExp(`^kvm-run: ${flag}: .{30,}`));
    expect(r.err[0]).not.toMatch(/Unknown argument/);
  });

  it('kvm-remote refuses what only makes sense on this machine, with the reason', async () => {
    for (const [argv, message] of [
      [['h1', '--gdb'], /--gdb: a debugger attaches to a guest on this machine; use kvm-run --gdb/],
      [['h1', '--dryrun', 'batches'], /--dryrun: kvm-remote always boots/],
      [['h1', 'res/x', '--link', 'inplace'], /--link inplace: kvm-remote gathers results into a new run directory/],
      [['h1', 'res/x', '--remote'], /--remote: kvm-remote passes it on by itself/],
    ] as const) {
      const err: string[] = [];
      expect(await remoteMain([...argv], { out: () => {}, err: (l) => err.push(l) })).toBe(2);
      expect(err.join('\n')).toMatch(message);
    }
  });

  it('--qemu-args "-device virtio-rng-pci" reaches the qemu command of --dryrun script', async () => {
    const r = await kvmRun('--scenarios', 'bundled', '--configs', 'UP01-SMALL', '--qemu-args', '-device virtio-rng-pci', '--dryrun', 'script');
    expect(r.status).toBe(0);
    const qemu = r.out.join('\n').split('\n').filter((l) => l.startsWith('qemu-system-'));
    expect(qemu).toHaveLength(1);
    expect(qemu[0]).toMatch(/ -device virtio-rng-pci( |$)/);
  });

  it('--gdb: one guest, nokaslr, qemu -s -S, and the exact gdb command', async () => {
    const r = await kvmRun('--scenarios', 'bundled', '--configs', 'UP01-SMALL', '--gdb', '--dryrun', 'script');
    expect(r.status).toBe(0);
    const text = r.out.join('\n');
    const qemu = text.split('\n').find((l) => l.startsWith('qemu-system-'))!;
    expect(qemu).toMatch(/ -s -S( |$)/);
    expect(qemu).toMatch(/nokaslr/);
    expect(text).toContain("# --gdb: UP01-SMALL is halted waiting for a debugger; attach with: gdb RUNDIR/UP01-SMALL/vmlinux -ex 'target remote :1234'");
    const two = await kvmRun('--scenarios', 'bundled', '--configs', '2*UP01-SMALL', '--gdb', '--dryrun', 'batches');
    expect(two.status).toBe(2);
    expect(two.err).toEqual(['kvm-run: --gdb debugs one guest, but --configs gives 2: UP01-SMALL UP01-SMALL.2; name one scenario']);
  });

  it('--gdb waits for the person at the debugger: the boot limit and grace are the longest allowed unless given', () => {
    expect(resolveRunOptions({ gdb: true }, '/src/linux')).toMatchObject({ gdb: true, debugInfo: true, bootTimeoutSeconds: 86_400, shutdownGraceSeconds: 172_800 });
    expect(resolveRunOptions({ gdb: true, bootTimeoutSeconds: 30 }, '/src/linux').bootTimeoutSeconds).toBe(30);
    expect(resolveRunOptions({}, '/src/linux')).not.toHaveProperty('gdb');
  });

  it('--debug-info (and --gdb) build with upstream\'s debug-info settings, after --kconfig', () => {
    const layers = configLayers({ cfcommon: [], scenarioName: 'T', scenario: [], kconfig: [{ option: 'CONFIG_DEBUG_INFO_NONE', value: 'y', origin: '--kconfig' }], kasan: false, kcsan: false, debugInfo: true, farm: [] });
    expect(layers.map((l) => l.name)).toEqual(['--kconfig argument', '--debug-info options']);
    expect(mergeLayers(layers).map((s) => `${s.option}=${s.value}`)).toEqual(['CONFIG_DEBUG_INFO_NONE=n', 'CONFIG_DEBUG_INFO_DWARF_TOOLCHAIN_DEFAULT=y']);
  });
});

describe('--kconfig in upstream syntax', () => {
  it('takes negative numbers, quoted strings (spaces too) and #CHECK# entries', () => {
    const parsed = parseKconfigText('CONFIG_NR_CPUS=-1  CONFIG_CMDLINE="a b" CONFIG_X=0x10 #CHECK#CONFIG_PREEMPT=y CONFIG_S="q\\"x"');
    expect(parsed.settings.map((s) => `${s.option}=${s.value}`)).toEqual(['CONFIG_NR_CPUS=-1', 'CONFIG_CMDLINE="a b"', 'CONFIG_X=0x10', 'CONFIG_S="q\\"x"']);
    expect(parsed.checks.map((s) => `${s.option}=${s.value}`)).toEqual(['CONFIG_PREEMPT=y']);
  });
  it('refuses an unclosed quote and a bad entry in one line each', () => {
    expect(() => parseKconfigText('CONFIG_CMDLINE="a b')).toThrow(/--kconfig "CONFIG_CMDLINE="a b": a double quote is not closed/);
    expect(() => parseKconfigText('#CHECK#CONFIG_A=maybe')).toThrow(/"CONFIG_A=maybe" is not a Kconfig setting/);
  });
  it('#CHECK# entries reach the run as checks, never as settings', () => {
    const options = resolveRunOptions({ kconfig: 'CONFIG_A=y #CHECK#CONFIG_B=n' }, '/src/linux');
    expect(options.kconfig.map((s) => s.option)).toEqual(['CONFIG_A']);
    expect(options.kconfigChecks?.map((s) => `${s.option}=${s.value}`)).toEqual(['CONFIG_B=n']);
  });
});
