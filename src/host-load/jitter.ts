import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { sleep } from '../qemu/child.js';
import type { JitterSettings } from './jitter-spec.js';

/**
 * One jitter process, as bash: each round it moves itself to a random CPU of the list,
 * sleeps a random time, then spins a random time. It ends by itself at its deadline or
 * as soon as the kvm-farm process that started it is gone, so even a SIGKILLed run
 * leaves no jitter behind for longer than one round. Builtins only, apart from taskset
 * and sleep, so a round costs two forks. LC_ALL=C keeps EPOCHREALTIME's decimal point a dot.
 *
 * Arguments: $1 the run directory (only so a person, or a test, can tell whose it is),
 * $2 CPU list (space-separated), $3 maxsleep us, $4 maxspin us, $5 deadline (epoch s), $6 parent pid.
 */
const JITTER_SCRIPT = [
  'cpus=($2); maxsleep=$3; maxspin=$4; deadline=$5; parent=$6',
  'now() { local t=$EPOCHREALTIME; REPLY=$((10#${t/./})); }',
  'while :; do',
  '  now; (( REPLY / 1000000 >= deadline )) && exit 0',
  '  kill -0 "$parent" 2>/dev/null || exit 0',
  '  taskset -c -p "${cpus[RANDOM % ${#cpus[@]}]}" $$ >/dev/null 2>&1 || exit 1',
  '  us=$(( (RANDOM * 32768 + RANDOM) % (maxsleep + 1) ))',
  "  printf -v secs '%d.%06d' $((us / 1000000)) $((us % 1000000))",
  '  sleep "$secs"',
  '  now; end=$(( REPLY + (RANDOM * 32768 + RANDOM) % (maxspin + 1) ))',
  '  while now; (( REPLY < end )); do :; done',
  'done',
].join('\n');

/** What a process is called in `ps`: its $0. */
export const JITTER_PROCESS_NAME = 'kvm-farm-jitter';

export interface JitterStart {
  settings: JitterSettings;
  /** How many processes (already resolved from -1). */
  count: number;
  /** CPUs they may hop between. */
  cpus: readonly number[];
  /** They end by themselves after this many seconds, in case nobody stops them. */
  lifetimeSeconds: number;
  /** Named in each process's command line. */
  runDir: string;
}

/** Running jitter processes; `stop()` ends all of them and waits until they are gone. */
export interface Jitter {
  pids: number[];
  stop(): Promise<void>;
}

/**
 * Starts the jitter processes, each in its own process group so that stopping one
 * also ends the `sleep` it may be waiting on.
 */
export function startJitter(start: JitterStart): Jitter {
  const deadline = Math.ceil(Date.now() / 1000 + start.lifetimeSeconds);
  const children: ChildProcess[] = [];
  for (let i = 0; i < start.count; i++) {
    const child = spawn(
      'bash',
      ['-c', JITTER_SCRIPT, JITTER_PROCESS_NAME, start.runDir, start.cpus.join(' '), String(start.settings.maxSleepUs), String(start.settings.maxSpinUs), String(deadline), String(process.pid)],
      { detached: true, stdio: 'ignore', env: { ...process.env, LC_ALL: 'C' } },
    );
    child.on('error', () => {});
    children.push(child);
  }
  return {
    pids: children.map((c) => c.pid).filter((p): p is number => p !== undefined),
    stop: () => stopAll(children),
  };
}

async function stopAll(children: ChildProcess[]): Promise<void> {
  const groups = children.map((c) => c.pid).filter((p): p is number => p !== undefined);
  const exited = children.map((c) => (c.exitCode !== null || c.signalCode !== null || c.pid === undefined ? Promise.resolve() : new Promise<void>((r) => c.once('exit', () => r()))));
  const signalGroups = (signal: NodeJS.Signals) => {
    for (const pgid of groups) {
      try {
        process.kill(-pgid, signal);
      } catch {
        // Already gone, with its whole group.
      }
    }
  };
  signalGroups('SIGTERM');
  await Promise.race([Promise.all(exited), sleep(3000)]);
  // A `sleep` a jitter process had started may outlive it for a moment: end the groups outright.
  signalGroups('SIGKILL');
  const until = Date.now() + 5000;
  while (Date.now() < until && liveGroupMembers(groups).length > 0) await sleep(50);
}

/** Processes still running (not zombies) in any of these process groups, from /proc. */
function liveGroupMembers(groups: readonly number[]): number[] {
  const wanted = new Set(groups);
  const live: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // After the parenthesised command name: state, ppid, pgrp.
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (wanted.has(Number(pgrp)) && state !== 'Z' && state !== 'X') live.push(Number(entry));
    } catch {
      // Ended while we looked.
    }
  }
  return live;
}
