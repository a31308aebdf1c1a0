import type { Host } from '../transport/index.js';

/**
 * A guest on a host lives apart from any ssh session: it is started in its own
 * session (setsid) and leaves everything it has to say in its directory on the host
 * (`console.log`, `qemu-output`, `pid`, `qpid`, and `exit` once qemu has ended), so a
 * dropped connection or a dead coordinator neither kills it nor loses its result.
 * The coordinator follows the console over a channel that can be opened again from
 * any byte offset. Every script here is fixed; values come as $1, $2, ...
 */

/** Files a guest leaves in its directory on the host. */
export const GUEST_FILES = { pid: 'pid', qpid: 'qpid', exit: 'exit', output: 'qemu-output' } as const;

/**
 * Runs in the new session: qemu (bounded by `timeout`, so a guest nobody follows any
 * more still ends) in the background, its pid in `qpid`, the session's in `pid` (the
 * sign the guest was launched), then its status in `exit`, written by rename so a
 * reader sees all of it or nothing. `--foreground` keeps qemu in this process group.
 */
const SESSION_SCRIPT =
  'd=$1; t=$2; shift 2; timeout --foreground -s KILL "$t" "$@" </dev/null >"$d/qemu-output" 2>&1 & q=$!; ' +
  'echo $q >"$d/qpid"; echo $$ >"$d/pid.new"; mv -f "$d/pid.new" "$d/pid"; ' +
  'wait $q; echo $? >"$d/exit.new"; mv -f "$d/exit.new" "$d/exit"';

/**
 * Starts the session unless this directory already has a guest (then says `existing`),
 * waits (bounded) until it has, and prints the host's boot_id: a guest belongs to one
 * boot of its host.
 */
const LAUNCH_SCRIPT =
  's=$1; d=$2; t=$3; shift 3; mkdir -p -- "$d" || exit 1; ' +
  'if [ -e "$d/pid" ]; then echo existing; else setsid sh -c "$s" sh "$d" "$t" "$@" </dev/null >/dev/null 2>&1 & ' +
  'i=0; while [ ! -e "$d/pid" ]; do i=$((i+1)); if [ $i -gt 200 ]; then echo "the guest did not start within 10 s" >&2; exit 1; fi; sleep 0.05; done; fi; ' +
  'cat /proc/sys/kernel/random/boot_id';

/**
 * Follows the console from byte $2 until qemu has ended, then sends qemu's own output,
 * a newline (qemu's output may end mid-line: -nographic leaves terminal codes there)
 * and a last line with qemu's status (`none` when the session died
 * without writing one) on stderr. A channel that drops is simply opened again.
 * tail watches qemu's pid, not the session's: the session (an orphan) may wait seconds
 * for init to reap it, while qemu is reaped by the session at once.
 */
const FOLLOW_SCRIPT =
  'd=$1; o=$2; ' +
  'if [ ! -e "$d/pid" ]; then echo >&2; echo "kvmfarm-exit none: no guest was started here" >&2; exit 0; fi; ' +
  'p=$(cat "$d/pid"); q=$(cat "$d/qpid" 2>/dev/null); case $p$q in ""|*[!0-9]*) echo >&2; echo "kvmfarm-exit none: bad pid file" >&2; exit 0;; esac; ' +
  'tail -s 0.2 -c +$((o+1)) -F --pid="$q" -- "$d/console.log" 2>/dev/null; ' +
  'i=0; while [ ! -e "$d/exit" ] && kill -0 "$p" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; ' +
  'cat -- "$d/qemu-output" >&2 2>/dev/null; ' +
  'echo >&2; if [ -e "$d/exit" ]; then echo "kvmfarm-exit $(cat "$d/exit")" >&2; else echo "kvmfarm-exit none" >&2; fi';

/**
 * TERM goes to qemu alone (through timeout, which passes it on), so the session still
 * writes qemu's status; KILL goes to the whole session. Pids 0 and 1, or anything not
 * a number, are never signalled: the files are the host's.
 */
const STOP_SCRIPT =
  'd=$1; s=$2; q=$(cat "$d/qpid" 2>/dev/null); p=$(cat "$d/pid" 2>/dev/null); ' +
  'case $q in ""|*[!0-9]*|0|1) q=;; esac; case $p in ""|*[!0-9]*|0|1) p=;; esac; ' +
  'if [ "$s" = KILL ]; then if [ -n "$p" ]; then kill -s KILL -- "-$p" 2>/dev/null; fi; [ -n "$q" ] && kill -s KILL "$q" 2>/dev/null; ' +
  'elif [ -n "$q" ]; then kill -s "$s" "$q" 2>/dev/null; fi; exit 0';

const BOOT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const STEP_MS = 30_000;

/** A boot_id as the kernel prints it, or undefined: what a host says is checked before it is compared or written down. */
export function parseBootId(text: string): string | undefined {
  const line = text.trim().split('\n').at(-1)?.trim() ?? '';
  return BOOT_ID.test(line) ? line : undefined;
}

/** The host's boot_id: changes with every boot, so a host that rebooted is told apart from one that was only cut off. */
export async function readBootId(host: Host, signal?: AbortSignal): Promise<string | undefined> {
  const result = await host.run(['cat', '/proc/sys/kernel/random/boot_id'], { timeoutMs: STEP_MS, ...(signal ? { signal } : {}) });
  return result.exitCode === 0 ? parseBootId(result.stdout) : undefined;
}

/** Past this the host itself kills the guest: nobody may be left to follow it. */
export function hostLimitSeconds(o: { durationSeconds: number; shutdownGraceSeconds: number; bootTimeoutSeconds: number }): number {
  return Math.ceil(o.bootTimeoutSeconds + o.durationSeconds + 2 * o.shutdownGraceSeconds + 60);
}

/** The words that start a guest detached in `dir` (idempotent: a directory that has one keeps it). */
export function launchWords(dir: string, limitSeconds: number, qemu: string[]): string[] {
  return ['sh', '-c', LAUNCH_SCRIPT, 'sh', SESSION_SCRIPT, dir, String(limitSeconds), ...qemu];
}

export function followWords(dir: string, offset: number): string[] {
  return ['sh', '-c', FOLLOW_SCRIPT, 'sh', dir, String(offset)];
}

export function stopWords(dir: string, signal: 'TERM' | 'KILL'): string[] {
  return ['sh', '-c', STOP_SCRIPT, 'sh', dir, signal];
}

/** Signals a detached guest; resolves false when the host did not answer. */
export async function stopGuest(host: Host, dir: string, signal: 'TERM' | 'KILL'): Promise<boolean> {
  const result = await host.run(stopWords(dir, signal), { timeoutMs: STEP_MS }).catch(() => undefined);
  return result?.exitCode === 0;
}

/** What the follower's last stderr line says: qemu's status, or that the session ended without one. */
export interface GuestEnd {
  /** sh's `$?` for qemu (128 + signal when killed), or null when no status was written. */
  status: number | null;
  /** qemu's own output, without the status line. */
  output: string;
  /** Set when the follower ended without its status line (it was cut off). */
  truncated: boolean;
}

export function parseGuestEnd(stderr: string): GuestEnd {
  const text = stderr.replace(/\n$/, '');
  const at = text.lastIndexOf('\nkvmfarm-exit ');
  const line = at < 0 ? null : /^kvmfarm-exit ([^\n]*)$/.exec(text.slice(at + 1));
  if (!line) return { status: null, output: stderr, truncated: true };
  // The follower finished; an empty or garbled status is the session's: on a full disk its status file stays empty.
  const word = /^(\d{1,3}|none)\b/.exec(line[1]!);
  const status = !word || word[1] === 'none' ? null : Number(word[1]);
  // The newline before the status line is the follower's own.
  return { status: status !== null && status <= 255 ? status : null, output: text.slice(0, at), truncated: false };
}
