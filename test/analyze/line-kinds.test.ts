import { describe, expect, it } from 'vitest';
import {
  bangInstances,
  classifyLine,
  commandLineHasToken,
  displayLine,
  parseEndOfTest,
  parseLinuxVersion,
  parseStatVersion,
  PREFILTER,
} from '../../src/analyze/line-kinds.js';
import type { ProblemKind } from '../../src/analyze/types.js';
import { analyze, cleanRcu, text, ts } from './fixtures.js';

/** One real-looking line per kind, as kernels print them. */
const EXAMPLES: [ProblemKind, string][] = [
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

const HARMLESS = [
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

describe('classifyLine', () => {
  it.each(EXAMPLES)('finds %s in %s', (kind, line) => {
    expect(classifyLine(`${ts(12.5)} ${line}`)).toBe(kind);
    // Every kind's line must get past the prefilter, or the streaming reader never sees it.
    expect(new RegExp(PREFILTER.source).test(line)).toBe(true);
  });

  it.each(HARMLESS)('lets pass %s', (line) => {
    expect(classifyLine(`${ts(1)} ${line}`)).toBeNull();
  });

  it('counts every kind in a streamed console, one line in one kind only', async () => {
    const lines = cleanRcu();
    lines.splice(6, 0, ...EXAMPLES.map(([, l], i) => `${ts(20 + i)} ${l}`));
    const f = await analyze(text(lines), { chunk: 333 });
    const expected: Partial<Record<ProblemKind, number>> = {};
    for (const [kind] of EXAMPLES) expected[kind] = (expected[kind] ?? 0) + 1;
    expect(f.counts).toEqual(expected);
  });
});

describe('line parsers', () => {
  it('takes the version up to the first space', () => {
    expect(parseLinuxVersion('[    0.000000] Linux version 6.1.158-kvmfarm (root@host) (gcc) #1 SMP')).toBe('6.1.158-kvmfarm');
  });

  it('reads End of test results', () => {
    expect(parseEndOfTest('rcu-torture:--- End of test: SUCCESS: nreaders=1')).toBe('SUCCESS');
    expect(parseEndOfTest('lock-torture:--- End of test: LOCK_HOTPLUG [debug]: nwriters_stress=2')).toBe('LOCK_HOTPLUG');
  });

  it('reads ver: values only from torture statistics with a writer', () => {
    expect(parseStatVersion('[ 10.1] rcu-torture: rtc: 00000000a1b2c3d4 ver: 2145 tfle: 0')).toBe(2145);
    expect(parseStatVersion('[ 10.1] srcud-torture: rtc: 000000005ca1ab1e ver: 7 tfle: 0')).toBe(7);
    expect(parseStatVersion('[ 10.1] scftorture:  scf_invoked_count ver: 812 resched: 0')).toBe(812);
    expect(parseStatVersion('[ 10.1] rcu-torture: rtc: 0000000000000000 ver: 0 tfle: 1')).toBeNull();
    expect(parseStatVersion('[ 10.1] rcu-torture: rtc: (null) ver: 0 tfle: 1')).toBeNull();
    expect(parseStatVersion('[ 10.1] rcu-torture: rtc: 00000000a1b2c3d4 VER: 2145 tfle: 0')).toBeNull();
    expect(parseStatVersion('[ 10.1] driver ver: 3')).toBeNull();
  });

  it('sums the counters ending a "!!!" line', () => {
    expect(bangInstances('[ 30.5] rcu-torture: !!! Reader Pipe:  123456 78 5 2 0 0 0 0 0 0 0')).toBe(7);
    expect(bangInstances('[ 30.5] rcu-torture:!!! rcu_torture_writer: rcu_barrier() failed')).toBeNull();
  });

  it('matches the token as a word or a value', () => {
    expect(commandLineHasToken('console=ttyS0 kvmfarm.token=abc123 x', 'abc123')).toBe(true);
    expect(commandLineHasToken('console=ttyS0 kvmfarm.token=abc1234', 'abc123')).toBe(false);
  });

  it('makes lines fit to show', () => {
    expect(displayLine('a\x00\x00b\x07c\r')).toBe('a<2 nul>bc');
    expect(displayLine('x'.repeat(400))).toHaveLength(301);
  });
});
