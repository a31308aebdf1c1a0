import os from 'node:os';
import { planRun } from '../plan/plan.js';
import type { Plan } from '../plan/types.js';
import { selectInstances } from '../scenarios/instances.js';
import { loadScenarioLibrary, type ScenarioLibrary } from '../scenarios/library.js';
import { chooseScenarioDir, type ScenarioDirChoice } from '../scenarios/scenario-dir.js';
import { getSuite, type TortureSuite } from '../scenarios/suites.js';
import type { ScenarioInstance } from '../scenarios/types.js';
import type { SelectionOptions } from './options.js';
import { checkGdbSelection } from './gdb.js';

export interface PreparedRun {
  suite: TortureSuite;
  library: ScenarioLibrary;
  /** Where the scenarios came from, and why that directory. */
  scenarios: ScenarioDirChoice;
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
  const scenarios = chooseScenarioDir({ suite, ...(options.scenariosDir !== undefined ? { scenariosDir: options.scenariosDir } : {}), ...(options.kernelDir !== undefined ? { kernelDir: options.kernelDir } : {}) });
  const library = loadScenarioLibrary(scenarios.dir);
  const cpus = options.cpus ?? localCpus();
  const instances = selectInstances({
    library,
    configs: options.configs,
    kconfig: options.kconfig,
    bootArgs: options.bootArgs,
    // rcutorture gives an SMP scenario without NR_CPUS the CPUs of the machine it plans on.
    fallbackCpus: localCpus(),
  });
  if (options.gdb) checkGdbSelection(instances.map((x) => x.id));
  const plan = planRun(instances, [{ name: 'localhost', cpus }]);
  return { suite, library, scenarios, instances, cpus, plan };
}
