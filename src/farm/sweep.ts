import type { Host } from '../transport/index.js';

/**
 * Kills every process on a host whose environment carries this run's tag for that
 * host: qemu, the tail following its console, and the shell around them, whatever
 * session started them (a lost connection's guests included). By tag and not by
 * name, so other runs and other users' qemu are never touched. A fixed script; the
 * tag is $1.
 */
const SWEEP_SCRIPT =
  'n=0; for p in /proc/[0-9]*; do ' +
  'if tr "\\000" "\\n" < "$p/environ" 2>/dev/null | grep -qx "KVMFARM_RUN=$1"; then kill -s KILL "${p#/proc/}" 2>/dev/null && n=$((n+1)); fi; ' +
  'done; echo $n';

/** The words that start a guest's script with the run tag in its environment, so sweepRun can find it. */
export function taggedWords(tag: string, words: string[]): string[] {
  return ['env', `KVMFARM_RUN=${tag}`, ...words];
}

/** Kills what this run left on the host; resolves with how many processes were killed (null if the host did not answer). */
export async function sweepRun(host: Host, tag: string): Promise<number | null> {
  const result = await host.run(['sh', '-c', SWEEP_SCRIPT, 'sh', tag], { timeoutMs: 20_000 }).catch(() => undefined);
  if (!result || result.exitCode !== 0) return null;
  const killed = Number(result.stdout.trim());
  return Number.isInteger(killed) ? killed : null;
}
