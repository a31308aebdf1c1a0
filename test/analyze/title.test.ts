import { describe, expect, it } from 'vitest';
import { judge } from '../../src/analyze/judge.js';
import { bangTitle, crashTitle, normaliseTitle, warnTitle } from '../../src/analyze/title.js';
import type { JudgeInput } from '../../src/analyze/types.js';
import { analyze, boot, guest, rcuEnd, rcuStart, rcuStat, text, ts, VERSION } from './fixtures.js';

async function titleOf(lines: string[], over: Partial<JudgeInput> = {}): Promise<string | undefined> {
  const findings = await analyze(text(lines));
  return judge({ instance: 'TREE03', findings, guest: guest(), expectedVersion: VERSION, durationSeconds: 30, ...over }).title;
}

/** A NULL-pointer Oops as x86 prints it, with the CPU, pid, address and time given. */
function nullDeref(t: number, cpu: number, pid: number, address: string): string[] {
  return [
    `${ts(t)} BUG: kernel NULL pointer dereference, address: ${address}`,
    `${ts(t)} #PF: supervisor read access in kernel mode`,
    `${ts(t)} Oops: 0000 [#1] PREEMPT SMP PTI`,
    `${ts(t)} CPU: ${cpu} PID: ${pid} Comm: rcu_torture_rea Not tainted ${VERSION} #1`,
    `${ts(t)} RIP: 0010:rcu_torture_reader+0x${(0x40 + cpu).toString(16)}/0x1c0`,
    `${ts(t)} Call Trace:`,
    `${ts(t + 0.1)} Kernel panic - not syncing: Fatal exception`,
  ];
}

/** A self-detected stall as the kernel prints it, with the CPU, counts and time given. */
function stall(t: number, cpu: number, ticks: number): string[] {
  return [
    `${ts(t)} rcu: INFO: rcu_preempt self-detected stall on CPU`,
    `${ts(t)} rcu: \t${cpu}-....: (${ticks} ticks this GP) idle=${(ticks * 7).toString(16)}/1/0x4000000000000000 softirq=${ticks}/${ticks} fqs=${ticks >> 2}`,
    `${ts(t)} \t(t=${ticks + 1} jiffies g=${ticks * 4} q=${cpu * 11} ncpus=4)`,
    `${ts(t)} rcu: rcu_preempt kthread starved for ${ticks + 2} jiffies! g${ticks * 4} f0x0 RCU_GP_WAIT_FQS(5) ->state=0x0 ->cpu=${cpu}`,
    `${ts(t)} Call Trace:`,
  ];
}

describe('failure titles', () => {
  it('names a busted run by its "!!!" line, without the counters', async () => {
    const lines = [
      ...boot(),
      rcuStart(),
      ...rcuStat(15, 715),
      ...rcuStat(30, 1430, { bang: true, pipe: [123456, 78, 5, 0, 0, 0, 0, 0, 0, 0, 0] }),
      `${ts(30)} WARNING: CPU: 1 PID: 70 at kernel/rcu/rcutorture.c:1700 rcu_torture_stats_print+0x5a/0x6b0`,
      `${ts(30)} Call Trace:`,
      rcuEnd(46, 'FAILURE'),
    ];
    expect(await titleOf(lines)).toBe('rcu-torture: !!! Reader Pipe');
  });

  it('takes the first "!!!" line that says what failed, not one a WARN cut short', async () => {
    const lines = [
      ...boot(),
      rcuStart(),
      ...rcuStat(15, 715),
      `${ts(30)} rcu-torture: !!! `,
      `${ts(30)} ------------[ cut here ]------------`,
      `${ts(30)} WARNING: CPU: 1 PID: 70 at kernel/rcu/rcutorture.c:1700 rcu_torture_stats_print+0x5a/0x6b0`,
      `${ts(30)} Call Trace:`,
      `${ts(30)} Reader Pipe:  123456 78 5 0 0 0 0 0 0 0 0`,
      ...rcuStat(45, 2145, { bang: true, pipe: [234567, 99, 9, 1, 0, 0, 0, 0, 0, 0, 0] }),
      rcuEnd(46, 'FAILURE'),
    ];
    expect(await titleOf(lines)).toBe('rcu-torture: !!! Reader Pipe');
  });

  it('gives the same title to one failure seen with different addresses, CPUs, pids and times', async () => {
    const a = await titleOf([...boot(), rcuStart(), ...rcuStat(15, 715), ...nullDeref(21.5, 1, 87, '0000000000000008')]);
    const b = await titleOf([...boot(), rcuStart(), ...rcuStat(15, 700), ...rcuStat(30, 1400), ...nullDeref(44.25, 3, 112, '0000000000000010')]);
    expect(a).toBe('BUG: kernel NULL pointer dereference');
    expect(b).toBe(a);
    const s1 = await titleOf([...boot(), rcuStart(), ...stall(40.2, 0, 21002)]);
    const s2 = await titleOf([...boot(), rcuStart(), ...rcuStat(15, 715), ...stall(77.9, 3, 60111)]);
    expect(s1).toBe('rcu: INFO: rcu_preempt detected stall on CPU');
    expect(s2).toBe(s1);
  });

  it('takes the first crash in the console: the panic that follows an Oops is its consequence', async () => {
    expect(await titleOf([...boot(), rcuStart(), ...stall(40, 1, 2100), `${ts(41)} Kernel panic - not syncing: RCU Stall`])).toBe(
      'rcu: INFO: rcu_preempt detected stall on CPU',
    );
    expect(await titleOf([...boot(), `${ts(1.5)} Kernel panic - not syncing: No working init found.  Try passing init= option to kernel.`])).toBe(
      'Kernel panic - not syncing: No working init found',
    );
  });

  it('names crash lines by their headline, cut where the per-run details start', () => {
    expect(crashTitle('bug', '[  12.5] BUG: scheduling while atomic: rcu_torture_rea/97/0x00000002')).toBe('BUG: scheduling while atomic');
    expect(crashTitle('bug', 'BUG: soft lockup - CPU#1 stuck for 22s! [rcu_torture_rea:72]')).toBe('BUG: soft lockup');
    expect(crashTitle('bug', 'BUG: unable to handle page fault for address: ffffffffff600000')).toBe('BUG: unable to handle page fault');
    expect(crashTitle('bug', 'BUG: sleeping function called from invalid context at kernel/sched/core.c:9816')).toBe(
      'BUG: sleeping function called from invalid context',
    );
    expect(crashTitle('kcsan', 'BUG: KCSAN: data-race in rcu_torture_reader / rcu_torture_writer')).toBe('KCSAN: data-race in rcu_torture_reader / rcu_torture_writer');
    expect(crashTitle('oops', 'general protection fault, probably for non-canonical address 0xdead000000000100: 0000 [#1] PREEMPT SMP')).toBe('general protection fault');
    expect(crashTitle('panic', 'Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000009')).toBe(
      'Kernel panic - not syncing: Attempted to kill init! exitcode=ADDR',
    );
    expect(crashTitle('panic', '---[ end Kernel panic - not syncing: Fatal exception ]---')).toBe('Kernel panic - not syncing: Fatal exception');
    expect(crashTitle('stall', '[ 33.1] rcu: INFO: rcu_sched detected stalls on CPUs/tasks:')).toBe(crashTitle('stall', 'rcu: INFO: rcu_sched self-detected stall on CPU'));
    expect(crashTitle('stall', 'rcu: INFO: rcu_preempt detected expedited stalls on CPUs/tasks: { 1-... } 21002 jiffies s: 93 root: 0x2/.')).toBe(
      'rcu: INFO: rcu_preempt detected expedited stalls on CPUs/tasks',
    );
    expect(crashTitle('stall', 'rcu-torture: rtc: 000000003a1b ver: 44 ??? Writer stall state RTWS_SYNC(7) g44209 f0x0')).toBe('rcu-torture: ??? Writer stall');
    expect(crashTitle('starve', 'rcu: rcu_preempt kthread starved for 21004 jiffies! g44209 f0x0 RCU_GP_WAIT_FQS(5)')).toBe(
      'rcu: rcu_preempt kthread starved for N jiffies',
    );
    expect(crashTitle('lockdep', 'WARNING: possible circular locking dependency detected')).toBe('WARNING: possible circular locking dependency detected');
  });

  it('names "!!!" and WARN lines without their numbers', () => {
    expect(bangTitle('[ 30.1] rcu-torture:!!! rcu_torture_writer: rtort_pipe_count: 7')).toBe('rcu-torture:!!! rcu_torture_writer');
    expect(warnTitle('WARNING: CPU: 1 PID: 42 at kernel/rcu/rcutorture.c:1302 rcu_torture_writer+0x6d6/0x7e0')).toBe('WARNING in rcu_torture_writer');
    expect(normaliseTitle('[  101.000001] x at foo.c:12 CPU#3 pid 4455 0xffff88800 ffffffff81000000 12.5s')).toBe('x at foo.c CPU#N pid N ADDR ADDR Ns');
  });

  it('titles a WARN splat with a backtrace, and a run with no end line', async () => {
    const warn = [...boot(), rcuStart(), ...rcuStat(15, 715), `${ts(20)} WARNING: CPU: 0 PID: 9 at kernel/rcu/tree.c:2345 rcu_do_batch+0x11/0x90`, `${ts(20)} Call Trace:`, rcuEnd(31)];
    expect(await titleOf(warn)).toBe('WARNING in rcu_do_batch');
    expect(await titleOf([...boot(), rcuStart(), ...rcuStat(15, 715)])).toBe('no end-of-test line');
    expect(await titleOf(boot())).toBe('no end-of-test line: the test never started');
  });

  it('titles hung, GP-hang, wrong-kernel, no-boot, infra and build failures without run-specific words', async () => {
    const started = [...boot(), rcuStart(), ...rcuStat(15, 715)];
    expect(await titleOf(started, { guest: guest({ timedOut: true, exitCode: null }) })).toBe('hung: no console output after the test duration');
    const hang = [...boot(), rcuStart(), ...rcuStat(15, 715), ...rcuStat(30, 715), ...rcuStat(45, 715), rcuEnd(46)];
    expect(await titleOf(hang)).toBe('GP hang: the grace-period count stopped advancing');
    expect(await titleOf(started, { expectedVersion: '6.1.999' })).toBe('wrong kernel: another kernel version booted');
    expect(await titleOf(boot({ token: 'zzz999' }))).toBe('wrong kernel: token missing from the kernel command line');
    expect(await titleOf([], { guest: guest({ noOutput: true }) })).toBe('no boot: console stayed empty past the boot limit');
    expect(await titleOf(started, { guest: guest({ startError: 'spawn qemu-system-x86_64 ENOENT' }) })).toBe('infra: qemu did not start: spawn qemu-system-x86_64 ENOENT');
    const build = judge({
      instance: 'TREE03',
      findings: null,
      guest: null,
      expectedVersion: '',
      durationSeconds: 30,
      buildFailed: { reason: 'make exited with code 2', quoted: ['  CC kernel/rcu/tree.o', "kernel/rcu/tree.c:812:5: error: expected ';' before '}' token"] },
    });
    expect(build.title).toBe("build failed: kernel/rcu/tree.c: error: expected ';' before '}' token");
  });

  it('gives a pass no title', async () => {
    expect(await titleOf([...boot(), rcuStart(), ...rcuStat(15, 715), rcuEnd(16)])).toBeUndefined();
  });
});
