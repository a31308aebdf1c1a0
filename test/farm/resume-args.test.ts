import { describe, expect, it } from 'vitest';
import { parseKvmRemoteArgs, parseResumeArgs } from '../../src/cli/kvm-remote.js';

describe('kvm-remote --resume and --lost-grace on the command line', () => {
  it('takes the run directory and only the options that say how to reach the hosts', () => {
    expect(parseResumeArgs(['--resume', 'res/x-remote'])).toEqual({ runDir: 'res/x-remote' });
    expect(parseResumeArgs(['--resume', 'res/x', '-F', 'cfg', '--accept-new-host-keys', '--qemu-cmd', '/usr/bin/qemu-system-x86_64'])).toEqual({
      runDir: 'res/x', sshConfigFile: 'cfg', acceptNewHostKeys: true, qemuCmd: '/usr/bin/qemu-system-x86_64',
    });
  });

  it('refuses a missing run directory and options the run already fixed, in one line', () => {
    expect(() => parseResumeArgs(['--resume'])).toThrow(/--resume needs the run directory/);
    expect(() => parseResumeArgs(['--resume', '--retries'])).toThrow(/--resume needs the run directory/);
    expect(() => parseResumeArgs(['--resume', 'res/x', '--retries', '3'])).toThrow(/the rest is the run's own\): "--retries"/);
    expect(() => parseResumeArgs(['--resume', 'res/x', '-F'])).toThrow(/-F needs a value/);
  });

  it('--lost-grace: seconds or a duration; 0 reruns at once', async () => {
    const grace = async (value: string) => (await parseKvmRemoteArgs(['h1 h2', '--configs', 'UP01', '--lost-grace', value])).lostGraceMs;
    expect(await grace('90')).toBe(90_000);
    expect(await grace('2m')).toBe(120_000);
    expect(await grace('0')).toBe(0);
    await expect(grace('soon')).rejects.toThrow(/--lost-grace "soon" is not a duration/);
  });
});
