import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../src/options/defaults.js';
import { LIMITS } from '../../src/options/limits.js';
import { checkNumber } from '../../src/options/limits.js';
import { resolveAgainOptions } from '../../src/options/resolve-again.js';
import { resolveRemoteSettings } from '../../src/options/resolve-remote.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

describe('one table of defaults', () => {
  it('the README table states the default the code uses', () => {
    // The defaults table, not the earlier tables that name the same flags.
    const table = readme.slice(readme.indexOf('### Defaults and limits'));
    const row = (flag: string) => table.split('\n').find((l) => l.startsWith(`| \`${flag}\``)) ?? '';
    expect(row('--duration')).toContain(`${DEFAULTS.durationSeconds / 60} minutes`);
    expect(row('--memory')).toContain(DEFAULTS.memory);
    expect(row('--shutdown-grace')).toContain(`${DEFAULTS.shutdownGraceSeconds} s`);
    expect(row('--boot-timeout')).toContain(`${DEFAULTS.bootTimeoutSeconds} s`);
    expect(row('--remote-dir')).toContain(DEFAULTS.remoteDir);
    expect(row('--retries')).toContain(`| ${DEFAULTS.retries} |`);
    expect(row('--gather-timeout')).toContain(`${DEFAULTS.gatherTimeoutMs / 1000} s`);
    expect(row('--link')).toContain(DEFAULTS.link);
  });

  it("a guest's longest life fits one Node timer", () => {
    const longest = (LIMITS.durationSeconds.max + LIMITS.shutdownGraceSeconds.max + LIMITS.bootTimeoutSeconds.max) * 1000;
    expect(longest).toBeLessThan(2 ** 31 - 1);
  });

  it('checkNumber names the flag, the value and the range', () => {
    expect(() => checkNumber('retries', '--retries', 101)).toThrow('--retries 101: must be a whole number from 0 to 100');
    expect(() => checkNumber('cpus', '--cpus', 1.5)).toThrow('--cpus 1.5');
    expect(checkNumber('cpus', '--cpus', 8)).toBe(8);
  });

  it('kvm-again and kvm-remote fill their defaults from the same table', () => {
    const again = resolveAgainOptions({ runDir: 'res/x' });
    expect(again).toMatchObject({ link: DEFAULTS.link, accel: DEFAULTS.accel, bootTimeoutSeconds: DEFAULTS.bootTimeoutSeconds, failed: false, dryrun: false });
    expect(again).not.toHaveProperty('durationSeconds');
    expect(resolveRemoteSettings({ hosts: ['a', 'b'] })).toMatchObject({ remoteDir: DEFAULTS.remoteDir, retries: DEFAULTS.retries, minHosts: 2, gatherTimeoutMs: DEFAULTS.gatherTimeoutMs });
    expect(() => resolveRemoteSettings({ hosts: ['a', '..'] })).toThrow('host ".." is not a host name or address');
    expect(() => resolveAgainOptions({ runDir: 'x', link: 'sideways' as never })).toThrow('--link "sideways": choose one of hard, soft, copy');
  });
});
