/**
 * Tearing test farms down: one run by its id, or every run a crashed test left.
 * Only kvmfarm-* namespaces, kvmf* veths and kvmfarm-* directories are touched,
 * and only processes inside those namespaces are killed (by pid).
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';

export const PREFIX = 'kvmfarm-';
export const VETH_PREFIX = 'kvmf';
export const DEFAULT_ROOT = '/var/tmp';

export async function ip(...words: string[]): Promise<string> {
  return (await execa('ip', words)).stdout;
}

/** Kills every process in the run's namespaces, deletes namespaces and veths, removes its directory. */
export async function removeRun(runId: string, children: ChildProcess[] = [], dir = join(DEFAULT_ROOT, `${PREFIX}${runId}`)): Promise<void> {
  const exits = children.filter((c) => c.exitCode === null && c.signalCode === null)
    .map((c) => new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 5_000);
      c.once('exit', () => { clearTimeout(timer); resolve(); });
    }));
  const namespaces = (await ip('netns', 'list')).split('\n').map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(`${PREFIX}${runId}-`));
  for (const namespace of namespaces) {
    const pids = (await execa('ip', ['netns', 'pids', namespace], { reject: false })).stdout.split('\n').filter(Boolean);
    for (const pid of pids) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await Promise.all(exits);
  for (const namespace of namespaces) await execa('ip', ['netns', 'del', namespace], { reject: false });
  for (const link of await farmLinks()) {
    if (link.startsWith(`${VETH_PREFIX}${runId}`)) await execa('ip', ['link', 'del', link], { reject: false });
  }
  rmSync(dir, { recursive: true, force: true });
}

async function farmLinks(): Promise<string[]> {
  return (await ip('-o', 'link', 'show')).split('\n')
    .map((line) => /^\d+:\s+([^:@\s]+)/.exec(line)?.[1] ?? '')
    .filter((name) => name.startsWith(VETH_PREFIX));
}

function ownerAlive(runId: string): boolean {
  try {
    const pid = Number(readFileSync(join(DEFAULT_ROOT, `${PREFIX}${runId}`, 'owner.pid'), 'utf8'));
    if (pid === process.pid) return false;
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Removes what crashed test runs left: kvmfarm-* namespaces (and the sshd in
 * them), kvmf* veths and /var/tmp/kvmfarm-* directories, except those of a farm
 * whose owning process is still alive (another test file running now).
 */
export async function cleanupStaleFarms(): Promise<string[]> {
  const runs = new Set<string>();
  for (const line of (await ip('netns', 'list')).split('\n')) {
    const match = new RegExp(`^${PREFIX}([a-z0-9]{4})-\\d+`).exec(line);
    if (match) runs.add(match[1]!);
  }
  for (const link of await farmLinks()) {
    const match = new RegExp(`^${VETH_PREFIX}([a-z0-9]{4})[hg]\\d+$`).exec(link);
    if (match) runs.add(match[1]!);
  }
  if (existsSync(DEFAULT_ROOT)) {
    for (const name of readdirSync(DEFAULT_ROOT)) {
      const match = new RegExp(`^${PREFIX}([a-z0-9]{4})$`).exec(name);
      if (match) runs.add(match[1]!);
    }
  }
  const removed = [...runs].filter((runId) => !ownerAlive(runId));
  for (const runId of removed) await removeRun(runId);
  return removed;
}
