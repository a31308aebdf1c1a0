/**
 * Console text shaped like real torture-test consoles (formats from
 * kernel/rcu/rcutorture.c, kernel/locking/locktorture.c, kernel/scftorture.c),
 * built from parts so each test says only what differs.
 */
import { analyzeConsole } from '../../src/analyze/analyze-console.js';
import type { AnalyzeOptions, ConsoleFindings } from '../../src/analyze/types.js';
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
