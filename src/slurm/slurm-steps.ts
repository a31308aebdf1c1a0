import type { FleetSteps } from '../farm/fleet.js';
import type { SlurmFarm } from './slurm-farm.js';

/**
 * The fleet's steps on Slurm nodes: the ssh farm's (probe guest, content-addressed
 * shipping, sweep, clean-up), run as job steps through each node's SlurmNodeHost.
 * Two differ: "connecting" is asking Slurm about the node, and a node's CPUs are the
 * ones the allocation holds there (Slurm's word), not what `nproc` sees in a step.
 */
export function slurmFleetSteps(base: FleetSteps, farm: SlurmFarm): FleetSteps {
  return {
    ...base,
    connect: (name) => farm.connect(name),
    probe: async (host) => ({ ...(await base.probe(host)), cpus: farm.cpus(host.name) }),
  };
}
