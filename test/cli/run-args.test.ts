import { describe, expect, it } from 'vitest';
import { parseKvmRunArgs } from '../../src/cli/run-args.js';

describe('parseKvmRunArgs', () => {
  it('reads kvm.sh-style flags into typed options', async () => {
    const { options, dryrun } = await parseKvmRunArgs(
      ['--configs', 'TREE01 3*TINY01', '--duration', '2h', '--cpus', '8', '--kconfig', 'CONFIG_A=y CONFIG_B=4', '--bootargs', 'a=1 b=2', '--bootargs', 'c=3', '--dryrun', 'batches', '--memory', '2G'],
      '/src/linux',
    );
    expect(dryrun).toBe('batches');
    expect(options).toMatchObject({
      configs: 'TREE01 3*TINY01',
      durationSeconds: 7200,
      cpus: 8,
      bootArgs: ['a=1', 'b=2', 'c=3'],
      kernelDir: '/src/linux',
      memory: '2G',
      torture: 'rcu',
      shutdownGraceSeconds: 180,
      accel: 'auto',
    });
    expect(options.kconfig.map((s) => `${s.option}=${s.value}`)).toEqual(['CONFIG_A=y', 'CONFIG_B=4']);
  });

  it.each([
    [['--duration', '5x'], '--duration "5x" is not a duration'],
    [['--cpus', '0'], '--cpus "0" must be a whole number of at least 1'],
    [['--cpus', 'many'], '--cpus "many" must be a whole number'],
    [['--memory', 'lots'], '--memory "lots" must be a size'],
    [['--kconfig', 'CONFIG_A=yes'], '--kconfig: "CONFIG_A=yes" is not a Kconfig setting'],
    [['--dryrun', 'everything'], 'dryrun'],
    [['--accel', 'hvf'], 'accel'],
    [['--no-such-flag'], 'no-such-flag'],
    [['--allcpus', '--cpus', '2'], '--allcpus and --cpus cannot both be given'],
  ])('rejects %j naming the bad value', async (argv, message) => {
    await expect(parseKvmRunArgs(argv)).rejects.toThrow(message);
  });
});
