import type { ScenarioInstance } from '../scenarios/types.js';
import { packBatches } from './pack.js';
import type { Machine, Plan } from './types.js';

/**
 * Spreads instances over machines, then packs each machine's share into batches
 * by that machine's own CPU count, so hosts of different sizes each get full batches.
 * Largest instances are placed first, each on the machine where it adds the least
 * batch time relative to that machine's size, preferring machines it fits on.
 */
export function planRun(instances: ScenarioInstance[], machines: Machine[]): Plan {
  if (machines.length === 0) throw new RangeError('a plan needs at least one machine');
  if (machines.length === 1) {
    return { machines: [{ machine: machines[0]!, batches: packBatches(instances, machines[0]!.cpus) }] };
  }
  const shares = machines.map(() => [] as ScenarioInstance[]);
  const load = machines.map(() => 0);
  const sorted = [...instances].sort((a, b) => b.cpus - a.cpus);
  for (const instance of sorted) {
    let best = -1;
    let bestScore = Infinity;
    machines.forEach((machine, i) => {
      const fits = instance.cpus <= machine.cpus;
      // Load in machine-fulls: a 4-CPU instance weighs twice as much on a 4-CPU host as on an 8-CPU one.
      const score = (load[i]! + Math.min(instance.cpus, machine.cpus)) / machine.cpus + (fits ? 0 : 1e6);
      if (score < bestScore) {
        bestScore = score;
        best = i;
      }
    });
    shares[best]!.push(instance);
    load[best]! += Math.min(instance.cpus, machines[best]!.cpus);
  }
  return {
    machines: machines.map((machine, i) => ({ machine, batches: packBatches(shares[i]!, machine.cpus) })),
  };
}

/** Batches of a single-machine plan, numbered across the run. */
export function allBatches(plan: Plan) {
  return plan.machines.flatMap((m) => m.batches);
}
