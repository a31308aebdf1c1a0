import { expandConfigs, instanceIds } from './configs-spec.js';
import { cpuDemand } from './cpus.js';
import type { ScenarioLibrary } from './library.js';
import type { KconfigSetting, ScenarioInstance } from './types.js';

export interface SelectInstancesOptions {
  library: ScenarioLibrary;
  /** The `--configs` list; the library's CFLIST when absent. */
  configs?: string;
  kconfig: KconfigSetting[];
  bootArgs: string[];
  /** CPUs given to an SMP scenario that names no CONFIG_NR_CPUS. */
  fallbackCpus: number;
}

/** Scenario instances for a run: expanded, named, and with their CPU demand. */
export function selectInstances(options: SelectInstancesOptions): ScenarioInstance[] {
  const { library } = options;
  const names = expandConfigs(options.configs ?? 'CFLIST', library);
  const ids = instanceIds(names);
  return names.map((name, i) => {
    const scenario = library.load(name);
    const cpus = cpuDemand({
      scenario,
      cfcommon: library.cfcommon,
      kconfig: options.kconfig,
      bootArgs: options.bootArgs,
      fallbackCpus: options.fallbackCpus,
    });
    return { id: ids[i]!, scenario, cpus };
  });
}
