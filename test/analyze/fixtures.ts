/**
 * Console text shaped like real torture-test consoles (formats from
 * kernel/rcu/rcutorture.c, kernel/locking/locktorture.c, kernel/scftorture.c),
 * built from parts so each test says only what differs.
 */
import { analyzeConsole } from '../../src/analyze/analyze-console.js';
import type { AnalyzeOptions, ConsoleFindings, ProblemKind } from '../../src/analyze/types.js';
import type { GuestRun } from '../../src/qemu/types.js';
import { SUITES, type TortureSuite } from '../../src/scenarios/suites.js';

export const rcu = SUITES.rcu as TortureSuite;
export const lock = SUITES.lock as TortureSuite;
export const scf = SUITES.scf as TortureSuite;
export const TOKEN = 'abc123';
export const VERSION = '6.1.158';

export function ts(seconds: number): string {
  return `[${seconds.toFixed(6).padStart(12)}]`;
}

export function boot(opts: { version?: string; token?: string; module?: string } = {}): string[] {
  const version = opts.version ?? VERSION;
  const token = opts.token ?? TOKEN;
  const module = opts.module ?? 'rcutorture';
  return [
    `${ts(0)} Linux version ${version} (root@host) (gcc (Debian 12.2.0-14) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40) #1 SMP PREEMPT_DYNAMIC Sat Nov 21 19:40:00 UTC 2026`,
    `${ts(0)} Command line: console=ttyS0 noapic selinux=0 kvmfarm.token=${token} ${module}.shutdown_secs=30 ${module}.stat_interval=15`,
    `${ts(0.01)} x86/fpu: Supporting XSAVE feature 0x001: 'x87 floating point registers'`,
    `${ts(0.5)} Warning: unable to open an initial console.`,
  ];
}

export function rcuStart(t = 1.2): string {
  return `${ts(t)} rcu-torture:--- Start of test: nreaders=1 nfakewriters=4 stat_interval=15 verbose=1 test_no_idle_hz=1 shuffle_interval=3 stutter=5`;
}

export function rcuStat(t: number, ver: number, opts: { rtc?: string; bang?: boolean; pipe?: number[] } = {}): string[] {
  const rtc = opts.rtc ?? '00000000a1b2c3d4';
  const pipe = opts.pipe ?? [123456, 78, 0, 0, 0, 0, 0, 0, 0, 0, 0];
  return [
    `${ts(t)} rcu-torture: rtc: ${rtc} ver: ${ver} tfle: 0 rta: ${ver + 1} rtaf: 0 rtf: ${ver - 9} rtmbe: 0 rtmbkf: 0/0 rtbe: 0 rtbke: 0 rtbre: 0 rtbf: 0 rtb: 0 nt: 1234 onoff: 0/0:0/0 -1,0:-1,0 0:0 (HZ=1000) barrier: 0/0:0 read-exits: 16 nocb-toggles: 0:0`,
    `${ts(t)} rcu-torture: ${opts.bang ? '!!! ' : ''}Reader Pipe:  ${pipe.join(' ')}`,
    `${ts(t)} rcu-torture: Reader Batch:  ${pipe[0]} ${pipe[1]} 0 0 0 0 0 0 0 0 0`,
    `${ts(t)} rcu-torture: Free-Block Circulation:  ${ver} ${ver - 1} ${ver - 2} 0 0 0 0 0 0 0 0`,
  ];
}

export function rcuEnd(t: number, result = 'SUCCESS'): string {
  return `${ts(t)} rcu-torture:--- End of test: ${result}: nreaders=1 nfakewriters=4 stat_interval=15 verbose=1 test_no_idle_hz=1 shuffle_interval=3 stutter=5 irqreader=1 fqs_duration=0 stall_cpu=0`;
}

/** A whole clean rcutorture console with the given `ver:` values, one per 15 s. */
export function cleanRcu(vers: number[] = [715, 1430, 2145]): string[] {
  const stats = vers.flatMap((v, i) => rcuStat(15 * (i + 1) + 0.1, v));
  return [...boot(), rcuStart(), ...stats, rcuEnd(15 * vers.length + 1), `${ts(15 * vers.length + 1.5)} reboot: Power down`];
}

export function text(lines: string[]): string {
  return `${lines.join('\n')}\n`;
}

/** The text as an async stream of chunks of `size` bytes, to cut lines anywhere. */
export async function* chunked(data: string | Buffer, size: number): AsyncGenerator<Buffer> {
  const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

export function analyze(data: string | Buffer, opts: Partial<AnalyzeOptions> & { chunk?: number } = {}): Promise<ConsoleFindings> {
  const { chunk, ...rest } = opts;
  return analyzeConsole(chunked(data, chunk ?? 64 * 1024), { suite: rcu, token: TOKEN, ...rest });
}

export function guest(over: Partial<GuestRun> = {}): GuestRun {
  return {
    instance: 'TREE01',
    host: 'localhost',
    exitCode: 0,
    signal: null,
    timedOut: false,
    noOutput: false,
    stopped: false,
    startError: null,
    durationMs: 31_000,
    logPath: '/tmp/res/TREE01/console.log',
    token: TOKEN,
    accel: 'kvm',
    ...over,
  };
}

/** One real-looking line per kind, as kernels print them. */
export const TROUBLE_EXAMPLES: [ProblemKind, string][] = [
  ['bang', 'rcu-torture: !!! Reader Pipe:  123456 78 5 0 0 0 0 0 0 0 0'],
  ['bang', 'rcu-torture:!!! rcu_torture_writer: rcu_torture_writer: rcu_barrier() failed'],
  ['failure', 'rcu-torture:--- End of test: FAILURE: nreaders=1 nfakewriters=4'],
  ['kcsan', 'BUG: KCSAN: data-race in rcu_torture_reader / rcu_torture_writer'],
  ['bug', 'BUG: kernel NULL pointer dereference, address: 0000000000000008'],
  ['bug', 'BUG: scheduling while atomic: rcu_torture_rea/97/0x00000002'],
  ['oops', 'Oops: 0000 [#1] PREEMPT SMP PTI'],
  ['oops', 'general protection fault, probably for non-canonical address 0xdead000000000100: 0000 [#1] PREEMPT SMP'],
  ['panic', 'Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000009'],
  ['lockdep', 'WARNING: possible recursive locking detected'],
  ['lockdep', 'WARNING: inconsistent lock state'],
  ['lockdep', 'WARNING: possible circular locking dependency detected'],
  ['lockdep', 'WARNING: suspicious RCU usage'],
  ['lockdep', 'WARNING: HARDIRQ-safe -> HARDIRQ-unsafe lock order detected'],
  ['stall', 'rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:'],
  ['stall', 'rcu: INFO: rcu_sched self-detected stall on CPU'],
  ['stall', 'rcu: INFO: rcu_preempt detected expedited stalls on CPUs/tasks: { 1-... } 21002 jiffies s: 93 root: 0x2/.'],
  ['stall', 'rcu: Stall ended before state dump start'],
  ['stall', '??? Writer stall state RTWS_SYNC(7) g44209 f0x0 ->state 0x2 cpu 1'],
  ['starve', 'rcu: rcu_preempt kthread starved for 21004 jiffies! g44209 f0x0 RCU_GP_WAIT_FQS(5) ->state=0x0 ->cpu=1'],
  ['callTrace', 'Call Trace:'],
  ['hotplug', 'rcu-torture:torture_onoff task: offline 1 failed: errno -16'],
  ['hotplug', 'rcu-torture:torture_onoff task: online 3 failed: errno -5'],
  ['hotplug', 'rcu-torture:--- End of test: RCU_HOTPLUG: nreaders=1'],
  ['warning', 'WARNING: CPU: 1 PID: 42 at kernel/rcu/rcutorture.c:1302 rcu_torture_writer+0x6d6/0x7e0'],
  ['warning', 'ACPI Warning: SystemIO range 0x0000000000000B00-0x0000000000000B08 conflicts'],
  ['badness', 'Badness at kernel/rcu/tree.c:2345'],
];

/** Lines with a trouble word that are known to be harmless. */
export const HARMLESS = [
  'Warning: unable to open an initial console.',
  'Warning: Failed to add ttynull console. No stdin, stdout, and stderr for the init process!',
  'ODEBUG: object 00000000c0ffee is on stack, but NOT annotated.',
  '** This means that this is a DEBUG kernel and it is **',
  'NOHZ tick-stop error: Non-RCU local softirq work is pending, handler #08!!!',
  'rcu-torture:torture_onoff task: offline 1 failed (-EBUSY forgiven during boot): errno -16',
  'rcu-torture: rtc: 00000000a1b2c3d4 ver: 2145 tfle: 0 rta: 2146 rtaf: 0 rtf: 2136',
  'rcu-torture:--- End of test: SUCCESS: nreaders=1 stall_cpu=0 stall_cpu_holdoff=10',
  'CONFIG_DEBUG_LOCK_ALLOC enabled',
];

/** Every kind of line, alone and riding on a statistics line, with sequence missteps among them. */
export function mixedConsole(): Buffer {
  const lines = [...boot(), rcuStart()];
  let ver = 100;
  let t = 15;
  for (const [, example] of TROUBLE_EXAMPLES) {
    lines.push(...rcuStat((t += 15), (ver += 100)), `${ts(t)} ${example}`);
    // A stat line that also holds a trouble word must still be judged for the trouble.
    const [stat = ''] = rcuStat((t += 15), (ver += 100));
    lines.push(`${stat} ${example}`);
  }
  for (const harmless of HARMLESS) lines.push(`${ts((t += 1))} ${harmless}`);
  lines.push(
    `${ts((t += 1))} rcu-torture:torture_onoff task: offlined 2`,
    `${ts((t += 1))} rcu-torture:torture_onoff task: onlined 2`,
    `${ts((t += 1))} rcu-torture: rtc: 0000000000000000 ver: 0 tfle: 0`,
    `${ts((t += 1))} rcu-torture: rtc: (null) ver: 7 tfle: 0`,
    ...rcuStat((t += 15), ver), // no progress: a misstep
    ...rcuStat((t += 15), ver - 50), // backwards
    `${ts((t += 1))} scftorture: scf_invoked_count ver: ${ver + 500} resched: 0`,
    // More lines of one kind than are quoted.
    ...Array.from({ length: 25 }, (_, i) => `${ts((t += 1))} WARNING: CPU: ${i % 2} PID: 42 at kernel/rcu/rcutorture.c:1302 rcu_torture_writer+0x6d6/0x7e0`),
    rcuEnd((t += 1)),
  );
  return Buffer.concat([Buffer.from(text(lines).replaceAll('Reader Batch', 'Reader\r\nBatch')), Buffer.from('ver: \0\0 WARNING:\n')]);
}
