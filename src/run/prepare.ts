import os from 'node:os';
import { planRun } from '../plan/plan.js';
import type { Plan } from '../plan/types.js';
import { selectInstances } from '../scenarios/instances.js';
import { bundledScenarioDir, loadScenarioLibrary, type ScenarioLibrary } from '../scenarios/library.js';
import { getSuite, type TortureSuite } from '../scenarios/suites.js';
import type { ScenarioInstance } from '../scenarios/types.js';
import type { SelectionOptions } from './options.js';

export interface PreparedRun {
  suite: TortureSuite;
  library: ScenarioLibrary;
  instances: ScenarioInstance[];
  /** CPUs the plan packs into. */
  cpus: number;
  plan: Plan;
}

/** CPUs this process may use (affinity-aware), as a guest-CPU budget. */
export function localCpus(): number {
  return os.availableParallelism();
}

/** Scenarios, instances and the batch plan for one machine: pure apart from reading the scenario directory. */
export function prepareRun(options: SelectionOptions): PreparedRun {
  const suite = getSuite(options.torture);
  const library = loadScenarioLibrary(options.scenariosDir ?? bundledScenarioDir(suite));
  const cpus = options.cpus ?? localCpus();
  const instances = selectInstances({
    library,
    configs: options.configs,
    kconfig: options.kconfig,
    bootArgs: options.bootArgs,
    // rcutorture gives an SMP scenario without NR_CPUS the CPUs of the machine it plans on.
    fallbackCpus: localCpus(),
  });
  const plan = planRun(instances, [{ name: 'localhost', cpus }]);
  return { suite, library, instances, cpus, plan };
}
