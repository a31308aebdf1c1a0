/**
 * Pure: what `salloc` and `scontrol show job -d` say about an allocation. Slurm is
 * the one source for which nodes the run has and how many CPUs on each.
 */

/** The job id from salloc's "Granted job allocation N" (or "Pending job allocation N"). */
export function parseAllocationId(stderr: string): string | undefined {
  return /job allocation (\d+)/.exec(stderr)?.[1];
}

export interface JobInfo {
  jobId: string;
  /** RUNNING, PENDING, NODE_FAIL, CANCELLED, ... */
  state: string;
  /** The compressed node list (`node[1-3]`), for `scontrol show hostnames`. */
  nodeList: string;
  /** Per node-list group of the detailed view: its nodes (compressed) and the CPUs each holds. */
  groups: { nodes: string; cpus: number }[];
}

/** Reads `scontrol show job -d JOB` (several lines, or -o's one line). */
export function parseJob(text: string): JobInfo {
  const field = (name: string): string | undefined => new RegExp(`(?:^|\\s)${name}=(\\S*)`).exec(text)?.[1];
  const groups: JobInfo['groups'] = [];
  for (const m of text.matchAll(/(?:^|\s)Nodes=(\S+) CPU_IDs=(\S+)/g)) groups.push({ nodes: m[1]!, cpus: countIds(m[2]!) });
  return { jobId: field('JobId') ?? '', state: field('JobState') ?? 'UNKNOWN', nodeList: field('NodeList') ?? '', groups };
}

/** `0-1,4` → 3. */
export function countIds(list: string): number {
  let n = 0;
  for (const part of list.split(',')) {
    const [a, b] = part.split('-').map(Number);
    if (a === undefined || !Number.isInteger(a)) continue;
    n += b === undefined || !Number.isInteger(b) ? 1 : b - a + 1;
  }
  return n;
}

/** A node's state word from `scontrol show node -o NAME`: DOWN, IDLE+NOT_RESPONDING, ... */
export function parseNodeState(text: string): string {
  return /(?:^|\s)State=(\S+)/.exec(text)?.[1] ?? 'UNKNOWN';
}

/** States in which a node runs nothing for us. */
export function nodeUnusable(state: string): boolean {
  return /DOWN|DRAIN|FAIL|NOT_RESPONDING|POWER|UNKNOWN|FUTURE/.test(state);
}

/** Job states after which no step runs again. */
export function jobOver(state: string): boolean {
  return /COMPLETED|CANCELLED|FAILED|TIMEOUT|NODE_FAIL|PREEMPTED|BOOT_FAIL|DEADLINE|OUT_OF_MEMORY/.test(state);
}
