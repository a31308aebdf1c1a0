import { execa } from 'execa';
import { HostError } from '../transport/host-errors.js';
import type { Host } from '../transport/types.js';
import { KvmFarmError } from '../util/errors.js';
import { DEFAULTS } from '../options/defaults.js';
import { allocate, allocatedNodes, cancel, cancelOnExit, waitReleased, type AllocatedNode, type SlurmRequest } from './allocation.js';
import { nodeUnusable } from './job-info.js';
import { SlurmNodeHost } from './node-host.js';

/** How often one `sinfo` asks for the state of every node of the run: one controller RPC per period. */
export const NODE_WATCH_MS = 3_000;

/** The allocation a run works in, and its nodes as hosts of the farm. */
export interface SlurmFarm {
  jobId: string;
  /** False inside an allocation the user made ($SLURM_JOB_ID): it is not released. */
  owned: boolean;
  nodes: AllocatedNode[];
  /** A node as a Host; after a loss, only while Slurm says it is up and still in the allocation. */
  connect(name: string): Promise<Host>;
  cpus(name: string): number;
  /** Stops watching and, if kvm-farm made it, cancels the allocation and waits until it is gone. */
  release(): Promise<string>;
}

/**
 * Obtains the run's allocation (salloc, or the one given) and learns its nodes from
 * Slurm. A watcher asks Slurm for the nodes' states every few seconds, so a node set
 * DOWN (or drained) loses its steps at once instead of after srun's own timeout.
 */
export async function openSlurmFarm(request: SlurmRequest, say: (host: string, line: string) => void, signal?: AbortSignal): Promise<SlurmFarm> {
  const env = request.env ?? process.env;
  const owned = request.jobId === undefined;
  const asked = Date.now();
  const jobId = request.jobId ?? await allocate(request, request.queueTimeoutMs ?? DEFAULTS.slurmQueueTimeoutMs, signal);
  const forget = owned ? cancelOnExit(jobId, env) : () => {};
  let nodes: AllocatedNode[];
  try {
    nodes = (await allocatedNodes(jobId, env)).nodes;
  } catch (error) {
    if (owned) await cancel(jobId, env);
    forget();
    throw error;
  }
  say('-', `${owned ? `allocation ${jobId} granted after ${((Date.now() - asked) / 1000).toFixed(1)} s` : `using allocation ${jobId}`}: ${nodes.map((n) => `${n.name} (${n.cpus} CPUs)`).join(', ')}`);
  const hosts = new Map<string, SlurmNodeHost>();
  const first = new Set(nodes.map((n) => n.name));
  const cpus = new Map(nodes.map((n) => [n.name, n.cpus]));
  const watcher = setInterval(() => void watch(), NODE_WATCH_MS);
  let watching = false;
  const watch = async (): Promise<void> => {
    if (watching || hosts.size === 0) return;
    watching = true;
    try {
      const out = await execa('sinfo', ['-h', '-N', '-n', [...hosts.keys()].join(','), '-o', '%N %T'], { env, cwd: '/', timeout: 10_000, reject: false });
      if (out.exitCode !== 0) return;
      for (const line of out.stdout.split('\n')) {
        const [name, state] = line.trim().split(/\s+/);
        if (name && state && nodeUnusable(state.toUpperCase())) hosts.get(name)?.markLost(`Slurm says the node is ${state}`);
      }
    } finally {
      watching = false;
    }
  };
  return {
    jobId, owned, nodes,
    cpus: (name) => cpus.get(name) ?? 1,
    async connect(name) {
      // The first time, the allocation just said the node is there: no extra calls, which matters at 1,000 nodes.
      if (!first.delete(name)) {
        const state = (await execa('scontrol', ['show', 'node', '-o', name], { env, cwd: '/', timeout: 10_000, reject: false })).stdout;
        const word = /(?:^|\s)State=(\S+)/.exec(state)?.[1] ?? 'UNKNOWN';
        if (nodeUnusable(word)) throw new HostError('unreachable', name, `${name}: Slurm says the node is ${word}`);
        const now = await allocatedNodes(jobId, env);
        if (!now.nodes.some((n) => n.name === name)) {
          throw new KvmFarmError('KVMFARM_HOST_UNREACHABLE', `${name}: no longer in allocation ${jobId} (Slurm took it out after a node failure)`);
        }
      }
      const host = new SlurmNodeHost({ jobId, node: name, cpus: cpus.get(name) ?? 1, env });
      hosts.set(name, host);
      return host;
    },
    async release() {
      clearInterval(watcher);
      if (!owned) return `allocation ${jobId} kept (it was given, not made, by kvm-farm)`;
      await cancel(jobId, env);
      const gone = await waitReleased(jobId, env);
      forget();
      return gone ? `allocation ${jobId} released` : `allocation ${jobId} cancelled, but squeue still lists it after 30 s`;
    },
  };
}
