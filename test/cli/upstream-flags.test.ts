import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseKvmAgainArgs } from '../../src/cli/kvm-again.js';
import { main as kvmRunMain } from '../../src/cli/kvm-run.js';
import { parseKvmRemoteArgs } from '../../src/cli/kvm-remote.js';
import { parseKvmRunArgs } from '../../src/cli/run-args.js';
import { isKvmFarmError } from '../../src/util/errors.js';
import { requireReal } from '../helpers/require.js';

const tree = requireReal('kernel-tree').kernelTree;
const bin = path.join(tree, 'tools/testing/selftests/rcutorture/bin');

interface UpstreamFlag {
  flag: string;
  takesValue: boolean;
}

/**
 * The flags a script's argument loop knows: each `--x|--y)` pattern of its `case "$1"`,
 * and whether the branch reads a value (`checkarg ... "$2"`).
 */
function caseFlags(script: string): UpstreamFlag[] {
  const text = readFileSync(path.join(bin, script), 'utf8');
  // Up to the loop's own esac (a branch may hold a nested case, as --link does).
  const loop = /while test \$# -gt 0\s*\ndo\s*\n\tcase "\$1" in\n([\s\S]*?)\n\tesac\n\tshift\ndone/.exec(text)?.[1] ?? '';
  const flags: UpstreamFlag[] = [];
  const branches = loop.split(/\n(?=\t-)/);
  for (const branch of branches) {
    const pattern = /^\s*(-[-\w|]*)\)/.exec(branch)?.[1];
    if (!pattern) continue;
    const takesValue = /checkarg [^\n]*"\$2"|\$2/.test(branch);
    for (const flag of pattern.split('|')) flags.push({ flag, takesValue });
  }
  return flags;
}

/** A value upstream's checkarg accepts for each value flag; a new upstream value flag needs one here. */
const SAMPLE: Record<string, string> = {
  '--bootargs': '-x', '--bootarg': 'rcutorture.stat_interval=5', '--bootimage': 'arch/x86/boot/bzImage',
  '--configs': 'TINY01', '--config': '2*TREE01', '--cpus': '4', '--datestamp': 'mine', '--defconfig': 'tinyconfig',
  '--dryrun': 'batches', '--duration': '10s', '--jitter': '2 500 500', '--kconfig': 'CONFIG_NR_CPUS=-1', '--kconfigs': 'CONFIG_A=y',
  '--kmake-arg': '-j4', '--kmake-args': 'V=1', '--mac': '00:11:22:33:44:55', '--memory': '1G',
  '--qemu-args': '-device virtio-rng-pci', '--qemu-arg': '-no-hpet', '--qemu-cmd': 'qemu-system-x86_64',
  '--results': '/tmp/kvmfarm-res', '--shutdown-grace': '60', '--torture': 'lock',
  '--link': 'soft', '--rundir': '/tmp/kvmfarm-again-new',
};

function argvFor(f: UpstreamFlag): string[] {
  if (!f.takesValue) return [f.flag];
  const value = SAMPLE[f.flag];
  if (value === undefined) throw new Error(`${f.flag} takes a value upstream: add a sample value for it to SAMPLE`);
  return [f.flag, value];
}

/** Accepted (parsed into input) or refused with `--flag: reason`; never "Unknown argument" or a parser's internals. */
async function outcome(parse: () => Promise<unknown>, flag: string): Promise<'accepted' | 'refused'> {
  try {
    await parse();
    return 'accepted';
  } catch (error) {
    const message = isKvmFarmError(error) ? error.message : String(error);
    expect(message, flag).not.toMatch(/Unknown argument|YError|Not enough arguments|internal error/i);
    expect(message, flag).toMatch(new RegExp(`^${flag}: \\S.{20,}`));
    return 'refused';
  }
}

const kvmSh = caseFlags('kvm.sh');
const kvmAgainSh = caseFlags('kvm-again.sh');
const kvmRemoteSh = caseFlags('kvm-remote.sh');
/** The newest upstream scripts have these; the 6.1 tree does not. */
const NEWER_KVM_SH: UpstreamFlag[] = ['--debug-info', '--kill-previous', '--no-affinity'].map((flag) => ({ flag, takesValue: false }));
const NEWER_KVM_AGAIN_SH: UpstreamFlag[] = [
  { flag: '--bootargs', takesValue: true }, { flag: '--datestamp', takesValue: true },
];

describe("every flag of the kernel tree's own kvm.sh, kvm-again.sh and kvm-remote.sh", () => {
  it('reads the flag lists out of the scripts', () => {
    expect(kvmSh.length).toBeGreaterThanOrEqual(30);
    expect(kvmSh.map((f) => f.flag)).toEqual(expect.arrayContaining(['--allcpus', '--qemu-args', '--kmake-arg', '--gdb', '--kconfig', '--help', '-h', '--remote']));
    expect(kvmSh.find((f) => f.flag === '--qemu-args')?.takesValue).toBe(true);
    expect(kvmSh.find((f) => f.flag === '--gdb')?.takesValue).toBe(false);
    expect(kvmAgainSh.map((f) => f.flag).sort()).toEqual(['--dryrun', '--duration', '--link', '--remote', '--rundir']);
    // kvm-remote.sh has no argument loop of its own: it hands its arguments to kvm.sh or kvm-again.sh.
    expect(kvmRemoteSh).toEqual([]);
  });

  it.each([...kvmSh, ...NEWER_KVM_SH].map((f) => [f.flag, f] as const))('kvm-run %s: accepted or refused with its reason', async (flag, f) => {
    if (flag === '--help' || flag === '-h') {
      const out: string[] = [];
      expect(await kvmRunMain([flag], { out: (l) => out.push(l), err: (l) => out.push(l) })).toBe(0);
      expect(out.join('\n')).toMatch(/--qemu-args/);
      return;
    }
    await outcome(() => parseKvmRunArgs(argvFor(f)), flag);
  });

  it.each([...kvmAgainSh, ...NEWER_KVM_AGAIN_SH].map((f) => [f.flag, f] as const))('kvm-again %s: accepted or refused with its reason', async (flag, f) => {
    await outcome(() => parseKvmAgainArgs(['res/2026.01.01-00.00.00', ...argvFor(f)]), flag);
  });

  it.each(['inplace', 'inplace-force', 'hard', 'soft', 'copy'])('kvm-again --link %s is accepted', async (mode) => {
    expect((await parseKvmAgainArgs(['res/x', '--link', mode])).link).toBe(mode);
  });

  it.each([...kvmSh, ...NEWER_KVM_SH, ...kvmRemoteSh].filter((f) => f.flag !== '--help' && f.flag !== '-h').map((f) => [f.flag, f] as const))(
    'kvm-remote HOSTS %s (kvm.sh\'s): accepted or refused with its reason',
    async (flag, f) => {
      await outcome(() => parseKvmRemoteArgs(['h1 h2', ...argvFor(f)]), flag);
    },
  );

  it.each([...kvmAgainSh, ...NEWER_KVM_AGAIN_SH].map((f) => [f.flag, f] as const))('kvm-remote HOSTS RUNDIR %s (kvm-again.sh\'s): accepted or refused with its reason', async (flag, f) => {
    await outcome(() => parseKvmRemoteArgs(['h1 h2', 'res/2026.01.01-00.00.00', ...argvFor(f)]), flag);
  });

  it('accepts what a kernel developer types most, with upstream meaning', async () => {
    const { input } = await parseKvmRunArgs([
      '--gdb', '--debug-info', '--kconfig', 'CONFIG_NR_CPUS=-1 #CHECK#CONFIG_PREEMPT=y', '--kconfig', 'CONFIG_CMDLINE="a b"',
      '--bootargs', '-x', '--qemu-args', '-device virtio-rng-pci', '--kmake-arg', '-j4', '--configs', 'TINY01',
    ]);
    expect(input).toMatchObject({ gdb: true, debugInfo: true, bootArgs: ['-x'], qemuArgs: ['-device', 'virtio-rng-pci'], kmakeArgs: ['-j4'], configs: 'TINY01' });
    expect(input.kconfig).toBe('CONFIG_NR_CPUS=-1 #CHECK#CONFIG_PREEMPT=y CONFIG_CMDLINE="a b"');
  });
});
