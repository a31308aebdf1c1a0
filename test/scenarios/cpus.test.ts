import { describe, expect, it } from 'vitest';
import { cpuDemand } from '../../src/scenarios/cpus.js';
import { parseFragment, parseKconfigArgument } from '../../src/scenarios/fragment.js';
import type { Scenario } from '../../src/scenarios/types.js';

function scenario(fragment: string, bootArgs: string[] = []): Scenario {
  return { name: 'S', dir: '/x', ...parseFragment(fragment, 'S'), bootArgs };
}
const base = { cfcommon: [], kconfig: [], bootArgs: [], fallbackCpus: 16 };

describe('cpuDemand', () => {
  it('is 1 for a uniprocessor kernel whatever NR_CPUS says', () => {
    expect(cpuDemand({ ...base, scenario: scenario('CONFIG_SMP=n\nCONFIG_NR_CPUS=8') })).toBe(1);
  });
  it('is CONFIG_NR_CPUS for an SMP kernel', () => {
    expect(cpuDemand({ ...base, scenario: scenario('CONFIG_SMP=y\nCONFIG_NR_CPUS=8') })).toBe(8);
  });
  it('falls back to the machine when NR_CPUS is not given', () => {
    expect(cpuDemand({ ...base, scenario: scenario('CONFIG_SMP=y') })).toBe(16);
  });
  it('is capped by maxcpus= and nr_cpus= on the boot line (TREE01 style)', () => {
    expect(cpuDemand({ ...base, scenario: scenario('CONFIG_SMP=y', ['maxcpus=8', 'nr_cpus=43']) })).toBe(8);
    expect(cpuDemand({ ...base, scenario: scenario('CONFIG_NR_CPUS=16', ['nr_cpus=3']) })).toBe(3);
  });
  it('lets --kconfig and --bootargs override the scenario', () => {
    const s = scenario('CONFIG_SMP=y\nCONFIG_NR_CPUS=8');
    expect(cpuDemand({ ...base, scenario: s, kconfig: parseKconfigArgument('CONFIG_NR_CPUS=4') })).toBe(4);
    expect(cpuDemand({ ...base, scenario: s, kconfig: parseKconfigArgument('CONFIG_SMP=n') })).toBe(1);
    expect(cpuDemand({ ...base, scenario: s, bootArgs: ['maxcpus=2'] })).toBe(2);
  });
  it('ignores look-alike parameters', () => {
    expect(cpuDemand({ ...base, scenario: scenario('CONFIG_NR_CPUS=8', ['rcutorture.maxcpus=2', 'xnr_cpus=1']) })).toBe(8);
  });
});
