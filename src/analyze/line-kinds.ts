import type { ProblemKind } from './types.js';

/**
 * One regex that every byte of the log goes through. Any line the analyzer cares
 * about holds one of these words; lines that hold none (nearly all of them) are
 * never looked at again, which is what makes a gigabyte log cheap. V8 compiles a
 * literal alternation like this to a fast native scanner; a dozen separate
 * patterns per line would cost ten times as much.
 */
export const PREFILTER =
  /Badness|WARN|Warn|BUG|Oops|general protection|Kernel panic|[sS]tall|starved|Call Trace|!!!|FAILURE|ver: |of test|onoff task: o(?:n|ff)line |Linux version|ommand line:|\x00/g;

/**
 * The prefilter word of a torture statistics line. A line whose only prefilter
 * word is this one carries a grace-period count and no trouble.
 */
export const STAT_WORD = 'ver: ';

/**
 * Lines that match a trouble word but are known to be harmless; the kernel's
 * console-badness.sh skips the same ones.
 */
const HARMLESS = [
  'ODEBUG: ',
  'This means that this is a DEBUG kernel and it is',
  'Warning: unable to open an initial console',
  'Warning: Failed to add ttynull console',
  'NOHZ tick-stop error: Non-RCU local softirq work is pending, handler',
];

/** Lockdep's splat headlines (kernel/locking/lockdep.c) and RCU's lockdep check. */
const LOCKDEP = [
  'possible recursive locking detected',
  'inconsistent lock state',
  'possible circular locking dependency detected',
  'possible irq lock inversion dependency detected',
  '-unsafe lock order detected',
  'suspicious RCU usage',
  'bad unlock balance detected',
  'held lock freed',
  'still has locks held',
  'lock held when returning to user space',
  'Nested lock was not taken',
  'chain_key collision',
  'bad contention detected',
];

// "BUG" as a word start, so DEBUG and ODEBUG do not count.
const BUG_WORD = /(?:^|[^A-Za-z0-9_])BUG/;
const STALL =
  /detected (?:expedited )?stalls on CPUs\/tasks|self-detected stall on CPU|Stall ended before state dump start|\?\?\? Writer stall state/;
const STARVE = /rcu_.*kthread starved for/;
const ONOFF_FAILED = /torture_onoff task: (?:on|off)line \d+ failed/;

/**
 * The problem a console line shows, or null. Checks run from the most to the
 * least specific, so a lockdep headline (which starts `WARNING:`) is lockdep,
 * and a KCSAN report (which starts `BUG:`) is KCSAN.
 */
export function classifyLine(line: string): ProblemKind | null {
  const kind = troubleIn(line);
  // Checked last because nearly every line that gets here (statistics) has no trouble at all.
  return kind !== null && HARMLESS.some((h) => line.includes(h)) ? null : kind;
}

/** Every word troubleIn looks for, in one scan: most lines that reach it (statistics) have none. */
const ANY_TROUBLE = /!!!|FAILURE|BUG|Oops:|general protection fault|Kernel panic|WARNING:|tall|starved|Call Trace:|_HOTPLUG|failed|Warn|Badness/;

function troubleIn(line: string): ProblemKind | null {
  if (!ANY_TROUBLE.test(line)) return null;
  if (line.includes('!!!')) return 'bang';
  if (line.includes('FAILURE')) return 'failure';
  if (line.includes('BUG')) {
    if (line.includes('BUG: KCSAN:')) return 'kcsan';
    if (BUG_WORD.test(line)) return 'bug';
  }
  if (line.includes('Oops:') || line.includes('general protection fault')) return 'oops';
  if (line.includes('Kernel panic - not syncing')) return 'panic';
  const warning = line.includes('WARNING:');
  if (warning && LOCKDEP.some((l) => line.includes(l))) return 'lockdep';
  if (line.includes('tall') && STALL.test(line)) return 'stall';
  if (line.includes('starved') && STARVE.test(line)) return 'starve';
  if (line.includes('Call Trace:')) return 'callTrace';
  if (line.includes('_HOTPLUG') && line.includes('End of test:')) return 'hotplug';
  // A refused offline during boot is forgiven by the kernel itself.
  if (line.includes('failed') && ONOFF_FAILED.test(line) && !line.includes('forgiven')) return 'hotplug';
  if (warning || line.includes('Warn')) return 'warning';
  if (line.includes('Badness')) return 'badness';
  return null;
}

/** `6.1.158` from `Linux version 6.1.158 (root@host) ...`, or null. */
export function parseLinuxVersion(line: string): string | null {
  const at = line.indexOf('Linux version ');
  if (at < 0) return null;
  const rest = line.slice(at + 'Linux version '.length);
  const word = rest.split(/\s/, 1)[0];
  return word ? word : null;
}

/** The text after `Command line:` (x86) or `Kernel command line:` (others), or null. */
export function parseCommandLine(line: string): string | null {
  const m = /[Cc]ommand line: ?(.*)$/.exec(line);
  return m ? (m[1] ?? '').trim() : null;
}

/**
 * Whether the token is a word of the command line, alone or as a parameter's
 * value: a plain substring test would let `abc` match `abc123`.
 */
export function commandLineHasToken(commandLine: string, token: string): boolean {
  return commandLine.split(/\s+/).some((w) => w === token || w.endsWith(`=${token}`));
}

/** `SUCCESS`, `FAILURE`, `RCU_HOTPLUG` from an `End of test:` line, or null. */
export function parseEndOfTest(line: string): string | null {
  const m = /End of test: ([A-Z_]+)/.exec(line);
  return m ? (m[1] ?? null) : null;
}

// rcutorture prints the writer's current pointer before `ver:`; while it is NULL
// the count means nothing yet (parse-console.sh drops those lines too).
/** `rtc: 0000000000000000 `: the writer's pointer is NULL, the line says nothing of progress. */
function nullRtc(line: string): boolean {
  let at = line.indexOf('rtc: ');
  if (at < 0) return false;
  at += 5;
  const first = at;
  while (line.charCodeAt(at) === 48) at++;
  return at > first && line.charCodeAt(at) === 32;
}

/**
 * The number on a torture statistics line (`rcu-torture: rtc: ... ver: 2145 ...`,
 * `scftorture:  scf_invoked_count ver: 812 ...`), or null when the line is not
 * one or its writer had not started.
 */
export function parseStatVersion(line: string): number | null {
  const flag = line.indexOf('torture:');
  const at = line.lastIndexOf('ver: ');
  if (flag < 0 || at < flag) return null;
  if (line.includes('(null)') || nullRtc(line)) return null;
  let value = 0;
  let i = at + 5;
  for (let c = line.charCodeAt(i); c >= 48 && c <= 57; c = line.charCodeAt(++i)) value = value * 10 + (c - 48);
  return i > at + 5 ? value : null;
}

/**
 * When a `!!!` line ends in a row of counters, as `Reader Pipe:` does, their sum:
 * how many readers saw a too-short grace period. Null for other `!!!` lines.
 */
export function bangInstances(line: string): number | null {
  const words = line.trim().split(/\s+/);
  if (words.length < 9) return null;
  let sum = 0;
  for (const w of words.slice(-9)) {
    if (!/^\d+$/.test(w)) return null;
    sum += Number(w);
  }
  return sum;
}

/** A line made fit to show a person: no control bytes, nul runs counted, bounded length. */
export function displayLine(raw: string, maxLength = 300): string {
  const text = raw
    .replace(/\r$/, '')
    .replace(/\x00+/g, (m) => `<${m.length} nul>`)
    .replace(/[\x01-\x08\x0b-\x1f\x7f]/g, '');
  return text.length > maxLength ? `${text.slice(0, maxLength)}…` : text;
}
