/**
 * Tearing test clusters down: one by its id, or every one a crashed test left. Only
 * kvmslurm-* namespaces, kvss* links and /var/tmp/kvmslurm-* directories are
 * touched; processes are killed by pid: those in the cluster's namespaces (slurmd,
 * slurmstepd, guests) and the daemons whose pid files sit in the cluster's directory.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';

export const NS_PREFIX = 'kvmslurm-';
export const VETH_PREFIX = 'kvss';
export const BRIDGE_PREFIX = 'kvsb';
/** Not /tmp: every node hides it behind its own. */
export const ROOT = '/var/tmp';

export async function ip(...words: string[]): Promise<string> {
  return (await execa('ip', words)).stdout;
}

function kill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

function pidFrom(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 1 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Kills the cluster's processes, deletes its namespaces, links and directory. */
export async function removeCluster(id: string, children: ChildProcess[] = []): Promise<void> {
  const dir = join(ROOT, `${NS_PREFIX}${id}`);
  const exits = children.filter((c) => c.exitCode === null && c.signalCode === null)
    .map((c) => new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 5_000);
      c.once('exit', () => { clearTimeout(timer); resolve(); });
    }));
  const namespaces = (await ip('netns', 'list')).split('\n').map((l) => l.split(' ')[0] ?? '').filter((n) => n.startsWith(`${NS_PREFIX}${id}-`));
  for (const namespace of namespaces) {
    const pids = (await execa('ip', ['netns', 'pids', namespace], { reject: false })).stdout.split('\n').filter(Boolean);
    for (const pid of pids) kill(Number(pid));
  }
  for (const file of [join(dir, 'slurmctld.pid'), join(dir, 'munge', 'munged.pid')]) {
    const pid = pidFrom(file);
    // Only a daemon of ours: its command line names this cluster's directory.
    if (pid !== undefined && cmdline(pid).includes(dir)) kill(pid);
  }
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await Promise.all(exits);
  for (const namespace of namespaces) await execa('ip', ['netns', 'del', namespace], { reject: false });
  for (const link of await clusterLinks()) if (link.slice(4).startsWith(id)) await execa('ip', ['link', 'del', link], { reject: false });
  rmSync(dir, { recursive: true, force: true });
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

async function clusterLinks(): Promise<string[]> {
  return (await ip('-o', 'link', 'show')).split('\n')
    .map((line) => /^\d+:\s+([^:@\s]+)/.exec(line)?.[1] ?? '')
    .filter((name) => name.startsWith(VETH_PREFIX) || name.startsWith(BRIDGE_PREFIX));
}

function ownerAlive(id: string): boolean {
  const pid = pidFrom(join(ROOT, `${NS_PREFIX}${id}`, 'owner.pid'));
  if (pid === undefined || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Removes clusters whose owning process is gone (a crashed or killed test run). */
export async function cleanupStaleClusters(): Promise<string[]> {
  const ids = new Set<string>();
  for (const line of (await ip('netns', 'list')).split('\n')) {
    const match = new RegExp(`^${NS_PREFIX}([0-9a-f]{4})-\\d+`).exec(line);
    if (match) ids.add(match[1]!);
  }
  for (const link of await clusterLinks()) ids.add(link.slice(4, 8));
  if (existsSync(ROOT)) {
    for (const name of readdirSync(ROOT)) {
      const match = new RegExp(`^${NS_PREFIX}([0-9a-f]{4})$`).exec(name);
      if (match) ids.add(match[1]!);
    }
  }
  const removed = [...ids].filter((id) => !ownerAlive(id));
  for (const id of removed) await removeCluster(id);
  return removed;
}
