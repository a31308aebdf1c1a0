import { readdirSync, readFileSync } from 'node:fs';
import { JITTER_PROCESS_NAME } from '../../src/host-load/jitter.js';

/** A live process and the CPUs it may run on, as /proc/<pid>/status says. */
export interface SeenProcess {
  pid: number;
  cpus: string;
}

/** Live (not zombie) processes whose argument list passes `match`, read from /proc. */
export function processesWhere(match: (args: string[]) => boolean): SeenProcess[] {
  const found: SeenProcess[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (!match(args)) continue;
      const status = readFileSync(`/proc/${entry}/status`, 'utf8');
      if (/^State:\s*Z/m.test(status)) continue;
      found.push({ pid: Number(entry), cpus: /^Cpus_allowed_list:\s*(.+)$/m.exec(status)![1]! });
    } catch {
      // Gone while we looked.
    }
  }
  return found;
}

/** The jitter processes started for `runDir` (it is in their command line). */
export function jitterProcesses(runDir: string): SeenProcess[] {
  return processesWhere((args) => args.includes(JITTER_PROCESS_NAME) && args.includes(runDir));
}

/** The qemu processes of one run directory: their console files are inside it. */
export function guestsOf(runDir: string): SeenProcess[] {
  return processesWhere((args) => args[0]!.includes('qemu-system') && args.some((a) => a.includes(`${runDir}/`)));
}

/** Live (not zombie) members of process group `pgid`: a zombie has ended, it only awaits its reaper. */
export function liveInGroup(pgid: number): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Fields after the parenthesised command name: state, ppid, pgrp, ...
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(pgrp) === pgid && state !== 'Z' && state !== 'X') found.push(Number(entry));
    } catch {
      // Gone while we looked.
    }
  }
  return found;
}
