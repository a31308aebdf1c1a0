import { describe, expect, it } from 'vitest';
import { main, parseHostList, parseKvmRemoteArgs } from '../../src/cli/kvm-remote.js';
import { resolveRemoteSettings } from '../../src/options/resolve-remote.js';
import { DEFAULTS } from '../../src/options/defaults.js';

const settings = async (argv: string[]) => resolveRemoteSettings(await parseKvmRemoteArgs(argv));

describe('parseKvmRemoteArgs', () => {
  it('takes the host list, then kvm-run options: a build on this machine, a run on the hosts', async () => {
    const options = await parseKvmRemoteArgs(
      ['h1 user@h2:2222  localhost', '--configs', '3*UP01-SMALL', '--duration', '30s', '--ship-concurrency', '1', '--keep-remote', '-F', '/etc/farm.conf', '--accel', 'tcg', '--kernel-dir', '/src/linux'],
    );
    expect(options.hosts).toEqual(['h1', 'user@h2:2222', 'localhost']);
    expect(options.source.kind).toBe('build');
    expect(options.source.options).toMatchObject({ configs: '3*UP01-SMALL', durationSeconds: 30, kernelDir: '/src/linux' });
    expect(options.source.options).not.toHaveProperty('buildonly');
    expect(options).toMatchObject({ shipConcurrency: 1, keepRemote: true, sshConfigFile: '/etc/farm.conf', accel: 'tcg' });
    expect(options).not.toHaveProperty('acceptNewHostKeys');
    expect(resolveRemoteSettings(options).remoteDir).toBe(DEFAULTS.remoteDir);
  });

  it('takes a run directory right after the hosts, then kvm-again options', async () => {
    const options = await parseKvmRemoteArgs(['h1 h2', 'res/2026.11.21-10.00.00', '--duration', '10s', '--configs', 'UP01-SMALL.2', '--remote-dir', '/var/tmp/kf', '--accept-new-host-keys']);
    expect(options.source).toMatchObject({ kind: 'again', options: { runDir: 'res/2026.11.21-10.00.00', durationSeconds: 10, configs: 'UP01-SMALL.2' } });
    expect(options.source.options).not.toHaveProperty('dryrun');
    expect(options).toMatchObject({ hosts: ['h1', 'h2'], remoteDir: '/var/tmp/kf', acceptNewHostKeys: true });
    expect(options.shipConcurrency).toBeUndefined();
  });

  it('takes the fleet flags: --min-hosts, --gather-timeout (bare number = seconds), --retries', async () => {
    const options = await parseKvmRemoteArgs(['h1 h2 h3', '--min-hosts', '2', '--gather-timeout', '45', '--retries', '0']);
    expect(options).toMatchObject({ minHosts: 2, gatherTimeoutMs: 45_000, retries: 0 });
    expect((await parseKvmRemoteArgs(['h1', '--gather-timeout', '2m'])).gatherTimeoutMs).toBe(120_000);
    const plain = await parseKvmRemoteArgs(['h1']);
    expect(plain.minHosts).toBeUndefined();
    expect(plain.gatherTimeoutMs).toBeUndefined();
    expect(plain.retries).toBeUndefined();
  });

  it.each([
    [['h1', '--min-hosts', '0'], '--min-hosts 0: must be a whole number from 1 to 1'],
    [['h1 h2', '--min-hosts', '3'], '--min-hosts 3: must be a whole number from 1 to 2'],
    [['h1', '--gather-timeout', 'soon'], '--gather-timeout "soon" is not a duration'],
    [['h1', '--gather-timeout', '25d'], '--gather-timeout 2160000000ms: must be a whole number from 1000 to 86400000'],
    [['h1', '--retries', '-1'], '--retries "-1" must be a whole number'],
    [['h1', '--retries', '1000'], '--retries 1000: must be a whole number from 0 to 100'],
    [['h1 ..', '--duration', '1'], 'host ".." is not a host name'],
    [[], 'usage: kvm-remote'],
    [['--configs', 'X'], 'usage: kvm-remote'],
    [['h1', '--ship-concurrency', '0'], '--ship-concurrency 0: must be a whole number from 1'],
    [['h1', '--ship-concurrency', 'all'], '--ship-concurrency "all"'],
    [['h1', '--jitter', '2'], '--jitter: kvm-remote does not run jitter on the hosts'],
    [['h1', '--build-on', 'there'], 'build-on'],
    [['h1', 'res/x', '--build-on', 'here'], '--build-on: a rerun builds nothing'],
    [['h1', 'res/x', '--dryrun'], '--dryrun'],
    [['h1', 'res/x', 'res/y'], 'unexpected word "res/y"'],
    [['h1', '--duration', '5x'], '--duration "5x" is not a duration'],
    [['h1', '--no-such-flag'], 'no-such-flag'],
    [['  ', '--duration', '1'], 'no hosts'],
  ])('rejects %j naming the bad value', async (argv, message) => {
    await expect(settings(argv)).rejects.toThrow(message);
  });

  it('takes --build-on and --buildonly (the build phase alone, on the hosts)', async () => {
    const options = await parseKvmRemoteArgs(['h1 h2', '--buildonly', '--build-on', 'here', '--configs', 'TINY01']);
    expect(options).toMatchObject({ buildonly: true, buildOn: 'here' });
    expect(options.source.options).not.toHaveProperty('buildonly');
    const plain = await parseKvmRemoteArgs(['h1']);
    expect(plain.buildOn).toBeUndefined();
    expect(plain.buildonly).toBeUndefined();
  });

  it('splits host lists on spaces and commas only', () => {
    expect(parseHostList(' a,b  c\td ')).toEqual(['a', 'b', 'c', 'd']);
  });

  it('main prints one line and exits 2 for a bad value, and help exits 0', async () => {
    const err: string[] = [];
    const out: string[] = [];
    expect(await main(['h1', '--ship-concurrency', '-3'], { out: (l) => out.push(l), err: (l) => err.push(l) })).toBe(2);
    expect(err).toHaveLength(1);
    expect(err[0]).toMatch(/^kvm-remote: /);
    expect(await main(['--help'], { out: (l) => out.push(l), err: (l) => err.push(l) })).toBe(0);
    expect(out.join('\n')).toContain('--ship-concurrency');
  });
});
