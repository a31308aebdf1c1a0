import { describe, expect, it } from 'vitest';
import { formatDiags } from '../../src/analyze/diags.js';
import { analyze, boot, cleanRcu, rcuEnd, rcuStart, rcuStat, text, ts } from './fixtures.js';

describe('formatDiags', () => {
  it('is empty for a clean console, so no diags file marks the run', async () => {
    expect(formatDiags(await analyze(text(cleanRcu())))).toBe('');
  });

  it('gives one line per kind of problem, with counts', async () => {
    const lines = [
      ...boot(),
      rcuStart(),
      ...rcuStat(15, 715),
      ...rcuStat(30, 700, { bang: true, pipe: [1000, 10, 3, 0, 0, 0, 0, 0, 0, 0, 0] }),
      `${ts(31)} BUG: KCSAN: data-race in rcu_torture_reader / rcu_torture_writer`,
      `${ts(31)} Call Trace:`,
      `${ts(32)} rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:`,
      `${ts(32)} Call Trace:`,
      `${ts(33)} WARNING: CPU: 1 PID: 42 at kernel/rcu/rcutorture.c:1302 rcu_torture_writer+0x6d6/0x7e0`,
      rcuEnd(40, 'FAILURE'),
    ];
    expect(formatDiags(await analyze(text(lines)))).toBe(
      [
        'FAILURE: 3 instances',
        'BAD SEQ: ver went from 715 to 700 at statistics line 2 (last 700)',
        'FAILURE lines: 1',
        '"!!!" error lines: 1',
        'KCSAN reports: 1',
        'RCU CPU stalls: 1',
        'Call Traces: 2',
        'Warnings: 1',
        '',
      ].join('\n'),
    );
  });

  it('names a missing End of test line and a grace-period hang', async () => {
    const lines = [...boot(), rcuStart(), ...rcuStat(15, 715), ...rcuStat(30, 715)];
    expect(formatDiags(await analyze(text(lines)))).toBe(
      'GP HANG: ver stuck at 715 from statistics line 2 to the end\nno End of test line, 2 statistics lines\n',
    );
  });

  it('quotes a "!!!" line that has no counters', async () => {
    const lines = [...cleanRcu().slice(0, 6), `${ts(20)} rcu-torture:!!! rcu_torture_writer: rcu_barrier() failed`, rcuEnd(30, 'FAILURE')];
    expect(formatDiags(await analyze(text(lines))).split('\n')[0]).toBe('FAILURE: rcu-torture:!!! rcu_torture_writer: rcu_barrier() failed');
  });
});
