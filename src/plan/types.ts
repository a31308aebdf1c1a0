import type { ScenarioInstance } from '../scenarios/types.js';

/** A machine batches run on: this one, or a remote host. */
export interface Machine {
  name: string;
  cpus: number;
}

/** Scenario instances that run at the same time on one machine. */
export interface Batch {
  /** 1-based, in run order on its machine. */
  number: number;
  instances: ScenarioInstance[];
  /** CPUs the batch's instances want in all. */
  cpus: number;
  /** Set when one instance wants more CPUs than the machine has: it runs alone, squeezed. */
  overflow: boolean;
}

export interface MachinePlan {
  machine: Machine;
  batches: Batch[];
}

export interface Plan {
  machines: MachinePlan[];
}
