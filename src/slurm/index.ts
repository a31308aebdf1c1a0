/** kvm-remote on a Slurm cluster: an allocation's nodes as the farm's hosts, every command a job step. */
export { allocate, allocatedNodes, cancel, sallocWords, waitReleased, type AllocatedNode, type SlurmRequest } from './allocation.js';
export { countIds, jobOver, nodeUnusable, parseAllocationId, parseJob, parseNodeState, type JobInfo } from './job-info.js';
export { SlurmNodeHost, type SlurmNodeOptions } from './node-host.js';
export { NODE_WATCH_MS, openSlurmFarm, type SlurmFarm } from './slurm-farm.js';
export { slurmFleetSteps } from './slurm-steps.js';
export { classifyLine, STEP_WRAPPER, stepWords, type StepLine, type StepTarget } from './step-words.js';
