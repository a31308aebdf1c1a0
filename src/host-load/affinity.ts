import { readFileSync } from 'node:fs';

/**
 * CPU pinning as kvm.sh does it: the guests of one batch each get their own CPUs,
 * taken in order from the CPUs this process may use, so no two guests of a batch
 * share a CPU and a guest's vCPUs sit on neighbouring CPUs. A batch that needs more
 * CPUs than there are is left unpinned: overlapping sets would only pretend to place it.
 */

/** Parses a kernel CPU list (`0-3,6,8-9`) into CPU numbers, ascending. */
export function parseCpuList(text: string): number[] {
  const cpus = new Set<number>();
  for (const part of text.trim().split(',')) {
    if (part === '') continue;
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new Error(`not a CPU list: "${text}"`);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    for (let c = from; c <= to && c - from < 65_536; c++) cpus.add(c);
  }
  return [...cpus].sort((a, b) => a - b);
}

/** Writes CPU numbers as a kernel CPU list, with ranges: `0-3,6`. */
export function formatCpuList(cpus: readonly number[]): string {
  const sorted = [...cpus].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/** The CPUs this process may run on (its affinity mask, which a cgroup or taskset may have narrowed). */
export function allowedCpus(statusText = readFileSync('/proc/self/status', 'utf8')): number[] {
  const line = /^Cpus_allowed_list:\s*(.+)$/m.exec(statusText);
  if (!line) throw new Error('/proc/self/status has no Cpus_allowed_list');
  return parseCpuList(line[1]!);
}

/** One guest of a batch: its name and how many vCPUs it has. */
export interface GuestCpus {
  id: string;
  cpus: number;
}

/** The CPU list each guest is pinned to, or why the batch is not pinned. */
export type BatchPinning = { pinned: true; lists: Map<string, string> } | { pinned: false; reason: string };

/** Pure: gives each guest of a batch its own consecutive run of `available` CPUs, when they all fit. */
export function pinBatch(guests: readonly GuestCpus[], available: readonly number[]): BatchPinning {
  const needed = guests.reduce((sum, g) => sum + g.cpus, 0);
  if (needed > available.length) {
    return { pinned: false, reason: `the batch needs ${needed} CPUs and this process may use ${available.length}` };
  }
  const lists = new Map<string, string>();
  let next = 0;
  for (const g of guests) {
    lists.set(g.id, formatCpuList(available.slice(next, next + g.cpus)));
    next += g.cpus;
  }
  return { pinned: true, lists };
}
