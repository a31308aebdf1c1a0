import { describe, expect, it } from 'vitest';
import { judge, MAX_QUOTED } from '../../src/analyze/judge.js';
import type { ConsoleFindings, JudgeInput } from '../../src/analyze/types.js';
import { analyze, boot, cleanRcu, guest, lock, rcuEnd, rcuStart, rcuStat, text, ts, VERSION } from './fixtures.js';

function input(findings: ConsoleFindings | null, over: Partial<JudgeInput> = {}): JudgeInput {
  return { instance: 'TREE01', findings, guest: guest(), expectedVersion: VERSION, durationSeconds: 30, ...over };
}

async function judgeText(lines: string[], over: Partial<JudgeInput> = {}, suite = undefined as typeof lock | undefined) {
  return judge(input(await analyze(text(lines), suite ? { suite } : {}), over));
}

describe('judge', () => {
  it('passes a clean run and reports its grace periods', async () => {
    const v = await judgeText(cleanRcu([715, 1430, 2145]));
    expect(v).toEqual({ instance: 'TREE01', kind: 'pass', reasons: [], quoted: [], gracePeriods: 2145, gracePeriodRate: 71.5 });
  });

  it('fails a busted run and quotes its "!!!" lines', async () => {
    const lines = [
      ...boot(),
      rcuStart(),
      ...rcuStat(15, 715),
      ...rcuStat(30, 1430, { bang: true, pipe: [123456, 78, 5, 0, 0, 0, 0, 0, 0, 0, 0] }),
      ...rcuStat(45, 2145, { bang: true, pipe: [234567, 99, 9, 1, 0, 0, 0, 0, 0, 0, 0] }),
      rcuEnd(46, 'FAILURE'),
    ];
    const v = await judgeText(lines);
    expect(v.kind).toBe('fail');
    expect(v.reasons).toEqual(['FAILURE: 10 instances', 'FAILURE lines x1', '"!!!" error lines x2']);
    expect(v.quoted).toEqual([
      `${ts(30)} rcu-torture: !!! Reader Pipe:  123456 78 5 0 0 0 0 0 0 0 0`,
      `${ts(45)} rcu-torture: !!! Reader Pipe:  234567 99 9 1 0 0 0 0 0 0 0`,
      rcuEnd(46, 'FAILURE'),
    ]);
    expect(v.gracePeriods).toBe(2145);
  });

  it('fails a grace-period sequence that goes backwards (BAD SEQ)', async () => {
    const v = await judgeText(cleanRcu([100, 200, 150, 300]));
    expect(v.kind).toBe('fail');
    expect(v.reasons).toEqual(['BAD SEQ: ver went from 200 to 150 at statistics line 3 (last 300)']);
    expect(v.quoted).toHaveLength(1);
    expect(v.quoted[0]).toContain('ver: 150 ');
  });

  it('calls a sequence that stalls and moves again BAD SEQ, as parse-console.sh does', async () => {
    const v = await judgeText(cleanRcu([100, 200, 200, 300]));
    expect(v.reasons).toEqual(['BAD SEQ: ver went from 200 to 200 at statistics line 3 (last 300)']);
  });

  it('fails a grace-period hang: ver stops advancing to the end', async () => {
    const v = await judgeText(cleanRcu([100, 200, 200, 200]));
    expect(v.kind).toBe('fail');
    expect(v.reasons).toEqual(['GP HANG: ver stuck at 200 from statistics line 3 to the end']);
    expect(v.gracePeriods).toBe(200);
  });

  it('says wrong-kernel for another version or a missing token', async () => {
    const other = await judgeText([...boot({ version: '6.1.157' }), ...cleanRcu().slice(4)]);
    expect(other.kind).toBe('wrong-kernel');
    expect(other.reasons).toEqual([`booted Linux 6.1.157, expected ${VERSION}`]);

    const stale = await judgeText([...boot({ token: 'old999' }), ...cleanRcu().slice(4)]);
    expect(stale.kind).toBe('wrong-kernel');
    expect(stale.reasons).toEqual(['token abc123 missing from the kernel command line']);

    const explicit = await judgeText(cleanRcu(), { expectedToken: 'other' });
    expect(explicit.reasons).toEqual(['token other missing from the kernel command line']);
  });

  it('says wrong-kernel for another build of the same release', async () => {
    const banner = { release: VERSION, builtBy: '(root@host)', version: '#1 SMP PREEMPT_DYNAMIC Sat Nov 21 19:40:00 UTC 2026' };
    expect((await judgeText(cleanRcu(), { expectedBanner: banner })).kind).toBe('pass');
    const rebuilt = await judgeText(cleanRcu(), { expectedBanner: { ...banner, version: '#2 SMP PREEMPT_DYNAMIC Sat Nov 21 20:01:00 UTC 2026' } });
    expect(rebuilt.kind).toBe('wrong-kernel');
    expect(rebuilt.reasons[0]).toMatch(/^booted another build of Linux 6\.1\.158; expected 6\.1\.158 \(root@host\) #2 /);
  });

  it('says no-boot for an empty console, no console, no output, or no Linux banner', async () => {
    expect(judge(input(await analyze(''))).kind).toBe('no-boot');
    expect(judge(input(await analyze(''))).reasons).toEqual(['console log is empty']);
    expect(judge(input(null)).reasons).toEqual(['no console log']);
    expect(judge(input(await analyze(text(cleanRcu())), { guest: guest({ noOutput: true }) })).kind).toBe('no-boot');
    const seabios = judge(input(await analyze('SeaBIOS (version 1.16.2-debian-1.16.2-1)\nBooting from ROM...\n')));
    expect(seabios).toMatchObject({ kind: 'no-boot', quoted: ['SeaBIOS (version 1.16.2-debian-1.16.2-1)', 'Booting from ROM...'] });
  });

  it('says infra-error when qemu never started, whatever the console', async () => {
    const v = judge(input(null, { guest: guest({ startError: 'qemu-system-x86_64: not found', exitCode: null }) }));
    expect(v).toEqual({ instance: 'TREE01', kind: 'infra-error', reasons: ['qemu did not start: qemu-system-x86_64: not found'], quoted: [], title: 'infra: qemu did not start: qemu-system-x86_64: not found' });
  });

  it('says infra-error when qemu exits non-zero over a clean console', async () => {
    const v = await judgeText(cleanRcu(), { guest: guest({ exitCode: 1 }) });
    expect(v.kind).toBe('infra-error');
    expect(v.reasons).toEqual(['qemu exited with code 1']);
  });

  it('says build-failed first and quotes make errors', () => {
    const errors = Array.from({ length: 30 }, (_, i) => `kernel/rcu/tree.c:${i}:5: error: expected ';'`);
    const v = judge(input(null, { guest: null, buildFailed: { reason: 'make exited with 2', quoted: errors } }));
    expect(v.kind).toBe('build-failed');
    expect(v.quoted).toHaveLength(MAX_QUOTED);
  });

  it('says hung for a timed-out guest with a quiet console, and quotes where it stopped', async () => {
    const lines = [...boot(), rcuStart(), ...rcuStat(15, 715)];
    const v = await judgeText(lines, { guest: guest({ timedOut: true, exitCode: null, signal: 'SIGKILL' }) });
    expect(v.kind).toBe('hung');
    expect(v.reasons).toEqual(['hung: killed after the console stopped advancing (during the test)']);
    expect(v.quoted.at(-1)).toContain('Free-Block Circulation');
  });

  it('says fail, not hung, when the hung console shows why', async () => {
    const lines = [...boot(), rcuStart(), ...rcuStat(15, 715), `${ts(40)} rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:`];
    const v = await judgeText(lines, { guest: guest({ timedOut: true, exitCode: null }) });
    expect(v.kind).toBe('fail');
    expect(v.reasons).toEqual(['RCU CPU stalls x1', 'hung: killed after the console stopped advancing (during the test)']);
  });

  it('fails a run with no End of test line, and says when the test never started', async () => {
    const v = await judgeText([...boot(), rcuStart(), ...rcuStat(15, 715), ...rcuStat(30, 1430)]);
    expect(v.kind).toBe('fail');
    expect(v.reasons).toEqual(['no End of test line, 2 statistics lines']);
    const never = await judgeText(boot());
    expect(never.reasons).toEqual(['no End of test line, 0 statistics lines', 'the rcu test never printed "Start of test"']);
  });

  it('only warns about a missing End of test line when the run was stopped on purpose', async () => {
    const v = await judgeText([...boot(), rcuStart(), ...rcuStat(15, 715)], { guest: guest({ stopped: true }) });
    expect(v).toMatchObject({ kind: 'warn', reasons: ['stopped early: no End of test line, 1 statistics lines'] });
  });

  it('quotes at most 20 lines, taking from every kind', async () => {
    const bangs = Array.from({ length: 25 }, (_, i) => `${ts(16 + i)} rcu-torture:!!! rcu_torture_writer: rtort_pipe_count: ${i + 2}`);
    const lines = [...cleanRcu().slice(0, 6), ...bangs, `${ts(50)} BUG: unable to handle page fault for address: ffffffffff600000`];
    const v = await judgeText(lines);
    expect(v.kind).toBe('fail');
    expect(v.quoted).toHaveLength(20);
    expect(v.quoted.at(-1)).toContain('BUG: unable to handle page fault');
    expect(v.reasons).toContain('"!!!" error lines x25');
  });

  it.each([
    ['WARNING: CPU: 0 PID: 1 at drivers/base/dd.c:552 really_probe+0x3c0/0x3d0', 'Warnings x1'],
    ['Badness at kernel/rcu/tree.c:2345', 'Badness lines x1'],
    ['rcu-torture:torture_onoff task: offline 1 failed: errno -16', 'CPU-hotplug failures x1'],
  ])('warns for %s alone', async (line, reason) => {
    const lines = cleanRcu();
    lines.splice(6, 0, `${ts(20)} ${line}`);
    const v = await judgeText(lines);
    expect(v).toMatchObject({ kind: 'warn', reasons: [reason], quoted: [`${ts(20)} ${line}`] });
  });

  it('warns for nul bytes', async () => {
    const data = Buffer.concat([Buffer.from(text(cleanRcu())), Buffer.from('\0\0\0\0\n')]);
    const v = judge(input(await analyze(data)));
    expect(v.kind).toBe('warn');
    expect(v.quoted).toEqual(['<4 nul>']);
  });

  it('fails a WARN splat, since it carries a Call Trace', async () => {
    const lines = cleanRcu();
    lines.splice(6, 0, `${ts(20)} WARNING: CPU: 1 PID: 42 at kernel/rcu/rcutorture.c:1302 rcu_torture_writer+0x6d6/0x7e0`, `${ts(20)} Call Trace:`, `${ts(20)}  <TASK>`);
    const v = await judgeText(lines);
    expect(v.kind).toBe('fail');
    expect(v.reasons).toEqual(['Call Traces x1', 'Warnings x1']);
  });

  it('leaves out grace periods for suites that do not report them', async () => {
    const lines = [
      ...boot({ module: 'locktorture' }),
      `${ts(1)} spin_lock-torture:--- Start of test: nwriters_stress=4`,
      `${ts(16)} Writes:  Total: 9385521  Max/Min: 0/0   Fail: 0 `,
      `${ts(32)} spin_lock-torture:--- End of test: SUCCESS: nwriters_stress=4`,
    ];
    expect(await judgeText(lines, {}, lock)).toEqual({ instance: 'TREE01', kind: 'pass', reasons: [], quoted: [] });
  });
});
