import { spawn, spawnSync } from 'node:child_process';
import { execa } from 'execa';
import { KvmFarmError } from '../util/errors.js';
import { jobOver, parseAllocationId, parseJob, type JobInfo } from './job-info.js';

/** What `kvm-remote --slurm` asks of the cluster. */
export interface SlurmRequest {
  /** Passed to salloc as they are: partition, account, constraints, node count, time limit. */
  sallocArgs: string[];
  /** An allocation that exists already ($SLURM_JOB_ID): used, never released by kvm-farm. */
  jobId?: string;
  /** Environment for every Slurm command (SLURM_CONF for a test cluster); default this process's. */
  env?: NodeJS.ProcessEnv;
  /** Longest salloc may wait in the queue. Default DEFAULTS.slurmQueueTimeoutMs. */
  queueTimeoutMs?: number;
}

export interface AllocatedNode {
  name: string;
  /** CPUs the allocation holds there (what the farm packs guests into). */
  cpus: number;
}

const COMMAND_MS = 30_000;

/**
 * Words salloc always gets before the user's: `--no-shell` (kvm-farm is the job's only
 * user and runs its steps from outside; no shell to keep alive), `--no-kill` (a failed
 * node must cost its own steps only, not the whole allocation, so its instances can
 * rerun on the others) and a job name that squeue shows. The user's words come after,
 * so a site's own choice (a job name) wins.
 */
export function sallocWords(request: SlurmRequest): string[] {
  return ['salloc', '--no-shell', '--no-kill', '--job-name=kvm-farm', ...request.sallocArgs];
}

/**
 * Asks for an allocation and waits (bounded) until it is granted. Aborting, the
 * queue limit or salloc failing cancel whatever was asked for: nothing is left queued.
 */
export async function allocate(request: SlurmRequest, limitMs: number, signal?: AbortSignal): Promise<string> {
  const env = request.env ?? process.env;
  const [file, ...args] = sallocWords(request);
  const child = spawn(file!, args, { env, cwd: '/', stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout.on('data', (c: Buffer) => (text += c.toString()));
  child.stderr.on('data', (c: Buffer) => (text += c.toString()));
  let why: string | undefined;
  const stop = (reason: string): void => {
    why ??= reason;
    child.kill('SIGINT');
    setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
  };
  const timer = setTimeout(() => stop(`no allocation within ${limitMs / 1000} s (still queued)`), limitMs);
  const onAbort = (): void => stop('interrupted while waiting for the allocation');
  signal?.addEventListener('abort', onAbort, { once: true });
  if (signal?.aborted) onAbort();
  const code = await new Promise<number | null>((resolve) => {
    child.once('error', (error) => {
      why ??= `salloc could not be started (${error.message}): install slurm-client`;
      resolve(null);
    });
    child.once('close', (c) => resolve(c));
  });
  clearTimeout(timer);
  signal?.removeEventListener('abort', onAbort);
  const jobId = parseAllocationId(text);
  if (code === 0 && jobId && !why) return jobId;
  if (jobId) await cancel(jobId, env);
  const said = text.split('\n').map((l) => l.trim()).filter((l) => /error|denied|invalid|unrecognized/i.test(l)).slice(0, 2).join(' | ');
  if (signal?.aborted) throw new KvmFarmError('KVMFARM_INTERRUPTED', why ?? 'interrupted');
  throw new KvmFarmError('KVMFARM_BAD_ARGUMENT', `salloc ${request.sallocArgs.join(' ')}: ${why ?? `exit ${code}`}${said ? `: ${said}` : ''}`);
}

/** `scontrol show job -d`: state, nodes and CPUs per node. */
export async function showJob(jobId: string, env: NodeJS.ProcessEnv = process.env): Promise<JobInfo> {
  const out = await execa('scontrol', ['show', 'job', '-d', jobId], { env, cwd: '/', timeout: COMMAND_MS, reject: false });
  if (out.exitCode !== 0) throw new KvmFarmError('KVMFARM_BAD_ARGUMENT', `Slurm job ${jobId}: ${out.stderr.trim().split('\n')[0] || `scontrol exit ${out.exitCode}`}`);
  return parseJob(out.stdout);
}

/** Expands a node list (`node[1-3]`) with `scontrol show hostnames`: Slurm's own grammar, not a copy of it. */
export async function hostnames(list: string, env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  if (list === '' || list === '(null)') return [];
  const out = await execa('scontrol', ['show', 'hostnames', list], { env, cwd: '/', timeout: COMMAND_MS });
  return out.stdout.split('\n').map((l) => l.trim()).filter(Boolean);
}

/** The allocation's nodes and the CPUs it holds on each. */
export async function allocatedNodes(jobId: string, env: NodeJS.ProcessEnv = process.env): Promise<{ job: JobInfo; nodes: AllocatedNode[] }> {
  const job = await showJob(jobId, env);
  if (jobOver(job.state) || job.state === 'PENDING') throw new KvmFarmError('KVMFARM_BAD_ARGUMENT', `Slurm job ${jobId} is ${job.state}: no nodes to run on`);
  const nodes: AllocatedNode[] = [];
  for (const g of job.groups) for (const name of await hostnames(g.nodes, env)) nodes.push({ name, cpus: g.cpus });
  if (nodes.length === 0) for (const name of await hostnames(job.nodeList, env)) nodes.push({ name, cpus: 1 });
  return { job, nodes };
}

/** Releases the allocation: every step on every node ends with it. */
export async function cancel(jobId: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  await execa('scancel', ['--quiet', jobId], { env, cwd: '/', timeout: COMMAND_MS, reject: false });
}

/** Waits (bounded) until the job has left the running states, so "released" is true when said. */
export async function waitReleased(jobId: string, env: NodeJS.ProcessEnv = process.env, limitMs = 30_000): Promise<boolean> {
  const deadline = Date.now() + limitMs;
  while (Date.now() < deadline) {
    const out = await execa('squeue', ['-h', '-j', jobId, '-o', '%T'], { env, cwd: '/', timeout: COMMAND_MS, reject: false });
    const state = out.stdout.trim();
    if (out.exitCode !== 0 || state === '' || jobOver(state)) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

/** Last resort when the process exits without its finally blocks (a second Ctrl-C): release synchronously. */
export function cancelOnExit(jobId: string, env: NodeJS.ProcessEnv = process.env): () => void {
  const onExit = (): void => {
    spawnSync('scancel', ['--quiet', jobId], { env, cwd: '/', timeout: 5_000, stdio: 'ignore' });
  };
  process.once('exit', onExit);
  return () => process.off('exit', onExit);
}
