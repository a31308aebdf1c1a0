import { describe, expect, it } from 'vitest';
import { parseKvmRunArgs } from '../../src/cli/run-args.js';
import { resolveRunOptions } from '../../src/options/resolve-run.js';
import { DEFAULTS } from '../../src/options/defaults.js';

const resolved = async (argv: string[]) => resolveRunOptions((await parseKvmRunArgs(argv)).input, '/src/linux');

describe('parseKvmRunArgs', () => {
  it('reads kvm.sh-style flags into the library input, leaving out what was not given', async () => {
    const { input } = await parseKvmRunArgs(
      ['--configs', 'TREE01 3*TINY01', '--duration', '2h', '--cpus', '8', '--kconfig', 'CONFIG_A=y CONFIG_B=4', '--bootargs', 'a=1 b=2', '--bootargs', 'c=3', '--dryrun', 'batches', '--memory', '2G'],
    );
    expect(input).toMatchObject({ configs: 'TREE01 3*TINY01', durationSeconds: 7200, cpus: 8, bootArgs: ['a=1', 'b=2', 'c=3'], memory: '2G', dryrun: 'batches' });
    expect(input).not.toHaveProperty('torture');
    expect(input).not.toHaveProperty('shutdownGraceSeconds');
  });

  it('fills every default from the one table when the library resolves the input', async () => {
    const options = await resolved(['--kconfig', 'CONFIG_A=y CONFIG_B=4']);
    expect(options).toMatchObject({
      kernelDir: '/src/linux',
      torture: DEFAULTS.torture,
      durationSeconds: DEFAULTS.durationSeconds,
      shutdownGraceSeconds: DEFAULTS.shutdownGraceSeconds,
      bootTimeoutSeconds: DEFAULTS.bootTimeoutSeconds,
      memory: DEFAULTS.memory,
      accel: DEFAULTS.accel,
      results: DEFAULTS.results,
    });
    expect(options.kconfig.map((s) => `${s.option}=${s.value}`)).toEqual(['CONFIG_A=y', 'CONFIG_B=4']);
  });

  it('takes a value that starts with "-" after a value flag, as kvm.sh does', async () => {
    const { input } = await parseKvmRunArgs(['--qemu-args', '-device virtio-rng-pci', '--kmake-arg', '-j4', '--datestamp', 'mine']);
    expect(input.qemuArgs).toEqual(['-device', 'virtio-rng-pci']);
    expect(input.kmakeArgs).toEqual(['-j4']);
  });

  it('takes the last of a value flag given twice, and adds up --configs given twice, as kvm.sh does', async () => {
    const { input } = await parseKvmRunArgs(['--duration', '5', '--duration', '10s', '--torture', 'lock', '--torture', 'rcu', '--configs', 'A', '--configs', 'UP01-SMALL']);
    expect(input).toMatchObject({ durationSeconds: 10, torture: 'rcu', configs: 'A UP01-SMALL' });
  });

  it.each([
    [['--duration', '5x'], '--duration "5x" is not a duration'],
    [['--duration', '99999999999999999999d'], '--duration "99999999999999999999d" is far too long'],
    [['--duration', '30d'], '--duration 2592000s: must be a whole number from 1 to 1728000 s'],
    [['--cpus', '0'], '--cpus 0: must be a whole number from 1 to 65536'],
    [['--cpus', 'many'], '--cpus "many" must be a whole number'],
    [['--memory', 'lots'], '--memory "lots"'],
    [['--shutdown-grace', '99999999'], '--shutdown-grace 99999999s'],
    [['--kconfig', 'CONFIG_A=yes'], '--kconfig: "CONFIG_A=yes" is not a Kconfig setting'],
    [['--dryrun', 'everything'], 'dryrun'],
    [['--accel', 'hvf'], 'accel'],
    [['--no-such-flag'], 'no-such-flag'],
    [['--allcpus', '--cpus', '2'], '--allcpus and --cpus cannot both be given'],
    [['--buildonly', '--dryrun', 'batches'], '--buildonly and --dryrun cannot both be given'],
    [['--datestamp', '../../etc/x'], '--datestamp "../../etc/x"'],
    [['--datestamp', '-rf'], '--datestamp "-rf"'],
    [['--defconfig=/../../x'], '--defconfig "/../../x"'],
    [['--datestamp'], '--datestamp needs a value'],
  ])('rejects %j naming the bad value', async (argv, message) => {
    await expect(resolved(argv)).rejects.toThrow(message);
  });
});
