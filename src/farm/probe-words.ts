import type { CmdResult, LoginShellReport } from '../transport/index.js';
import { printable } from '../util/printable.js';

/**
 * A probe step's failure in the host's own words: what the command said on stderr
 * (or stdout), or, when it never started, what the login shell printed meanwhile;
 * always with the time it took, so "slow" and "broken" read differently. Bounded
 * and printable: the host is not trusted to keep a log line one line.
 */
export function describeStepFailure(step: string, result: CmdResult, limitMs: number): string {
  const took = seconds(result.durationMs);
  const shell = result.loginShell;
  const notStarted = shell !== undefined && shell.startMs === null;
  const said = hostWords(result);
  const heard = said ? `: ${said}` : '';
  const shellSaid = shell?.said ? `; the host's login shell printed: ${shell.said}` : '';
  if (result.timedOut) {
    const where = notStarted ? `the host's login shell had not started it after ${took} (limit ${seconds(limitMs)})` : `it did not finish within ${seconds(limitMs)}`;
    return `${step} timed out: ${where}${notStarted ? shellSaid : heard}`;
  }
  const ended = `exit ${result.exitCode ?? result.signal ?? 'unknown'} after ${took}`;
  if (notStarted) return `${step} never started (${ended}): the host's login shell ended first${shellSaid || '; it printed nothing'}`;
  return `${step} failed (${ended})${heard || ' and printed nothing'}`;
}

/** A slow or talkative login shell, said once per probe; null when it starts quickly and quietly. */
export function describeLoginShell(shell: LoginShellReport | undefined, slowMs = SLOW_LOGIN_MS): string | null {
  if (!shell || shell.startMs === null) return null;
  const slow = shell.startMs >= slowMs;
  if (!slow && !shell.said) return null;
  const time = `${slow ? 'slow login shell: ' : 'login shell: '}${seconds(shell.startMs)} before each command starts`;
  return shell.said ? `${time}; its start-up files print: ${shell.said} (kept apart from command output)` : time;
}

/** A login taking this long costs a guest several seconds (a guest takes about ten commands). */
export const SLOW_LOGIN_MS = 1_000;

function hostWords(result: CmdResult): string {
  const line = (text: string): string => text.split('\n').map((l) => l.trim()).find((l) => l !== '') ?? '';
  const words = line(result.stderr) || line(result.stdout);
  return words ? printable(words, 200) : '';
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
