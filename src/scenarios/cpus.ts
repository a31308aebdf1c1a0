import { mergeSettings } from './fragment.js';
import type { KconfigSetting, Scenario } from './types.js';

export interface CpuDemandInput {
  scenario: Scenario;
  cfcommon: KconfigSetting[];
  /** `--kconfig` settings; they win over the fragment. */
  kconfig: KconfigSetting[];
  /** `--bootargs` words; they come after the scenario's .boot on the kernel command line. */
  bootArgs: string[];
  /**
   * CPUs for an SMP kernel whose fragment names no CONFIG_NR_CPUS: rcutorture
   * gives such a guest every CPU of the machine it plans on, and so do we.
   */
  fallbackCpus: number;
}

/**
 * The CPUs a scenario's guest wants, as rcutorture computes it: CONFIG_SMP=n means 1,
 * else CONFIG_NR_CPUS, capped by `nr_cpus=` and `maxcpus=` on the boot line.
 */
export function cpuDemand(input: CpuDemandInput): number {
  const settings = mergeSettings(input.cfcommon, input.scenario.settings, input.kconfig);
  if (settings.get('CONFIG_SMP')?.value === 'n') return 1;
  const nrCpus = Number(settings.get('CONFIG_NR_CPUS')?.value);
  let cpus = Number.isInteger(nrCpus) && nrCpus > 0 ? nrCpus : input.fallbackCpus;
  const bootLine = [...input.scenario.bootArgs, ...input.bootArgs];
  for (const param of ['nr_cpus', 'maxcpus']) {
    const limit = lastNumericParam(bootLine, param);
    // maxcpus=0 boots only the boot CPU; it still needs that one.
    if (limit !== undefined) cpus = Math.min(cpus, Math.max(limit, 1));
  }
  return cpus;
}

/** The kernel takes the last of repeated parameters, so we do too. */
function lastNumericParam(words: string[], param: string): number | undefined {
  let found: number | undefined;
  for (const word of words) {
    const match = new RegExp(`^${param}=(\\d+)$`).exec(word);
    if (match) found = Number(match[1]);
  }
  return found;
}
