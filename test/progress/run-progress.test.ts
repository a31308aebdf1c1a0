import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { withRunProgress } from '../../src/cli/run-progress.js';
import { formatRunProgress } from '../../src/progress/format.js';
import { RunMonitor, type MonitorNotice } from '../../src/progress/run-monitor.js';
import { boot, rcuStart, rcuStat, text, ts } from '../analyze/fixtures.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'kvmfarm-progress-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('live progress of a local run', () => {
  it('reads each running console incrementally: grace periods so far, trouble told once per kind', async () => {
    const log = path.join(dir, 'a.log');
    writeFileSync(log, text([...boot(), rcuStart(), ...rcuStat(15, 715)]));
    let now = 1_000_000;
    const notices: MonitorNotice[] = [];
    const m = new RunMonitor((n) => notices.push(n), () => now);
    m.build({ label: 'TREE01', instances: ['TREE01'], phase: 'make', elapsedMs: 42_000, detail: '  CC      kernel/rcu/update.o' });
    m.guestStarted({ instance: 'TREE01', consoleLog: log, durationSeconds: 60 });
    now += 20_000;
    await m.poll();
    expect(m.snapshot().guests[0]).toMatchObject({ gracePeriods: 715, trouble: {} });
    appendFileSync(log, `${ts(30)} rcu-torture: rtc: 00000000a1b2c3d4 ver: 1430 tfle: 0\n${ts(30)} rcu-torture: !!! Reader Pipe:  1 2 3 0 0 0 0 0 0 0 0\n${ts(31)} rcu-tor`);
    await m.poll();
    appendFileSync(log, `ture: !!! Reader Pipe:  1 2 4 0 0 0 0 0 0 0 0\n`);
    await m.poll();
    const g = m.snapshot().guests[0]!;
    expect(g).toMatchObject({ gracePeriods: 1430, trouble: { bang: 2 } });
    expect(notices).toEqual([{ kind: 'trouble', instance: 'TREE01', problem: 'bang', line: `${ts(30)} rcu-torture: !!! Reader Pipe:  1 2 3 0 0 0 0 0 0 0 0` }]);
    expect(formatRunProgress(m.snapshot(), now, 200)).toEqual([
      'build TREE01 make 42s: CC      kernel/rcu/update.o',
      'guests: 1 running, 0 judged',
      `  TREE01 20s/1m00s 1430 GPs | "!!!" error lines x2: ${ts(30)} rcu-torture: !!! Reader Pipe:  1 2 3 0 0 0 0 0 0 0 0`,
    ]);
    m.guestEnded('TREE01', { instance: 'TREE01', kind: 'fail', reasons: [], quoted: [], title: 'rcu-torture: !!! Reader Pipe', gracePeriods: 2000 });
    expect(formatRunProgress(m.snapshot(), now)).toEqual(['build TREE01 make 42s: CC      kernel/rcu/update.o', 'guests: 0 running, 1 judged']);
  });

  it('without a terminal (or under CI) prints timestamped lines: trouble when seen, where the guests are now and then', async () => {
    const log = path.join(dir, 'b.log');
    writeFileSync(log, text([...boot(), rcuStart(), ...rcuStat(15, 715)]));
    const out: string[] = [];
    await withRunProgress({ out: (l) => out.push(l), err: (l) => out.push(l) }, async (hooks) => {
      hooks.progress.guestStarted!({ instance: 'UP01', consoleLog: log, durationSeconds: 30 });
      hooks.log('Start batch 1: UP01');
      await sleep(150);
      appendFileSync(log, `${ts(20)} rcu: INFO: rcu_sched self-detected stall on CPU\n`);
      await sleep(250);
    }, { env: { CI: 'true' }, redrawMs: 20, plainEveryMs: 100 });
    expect(out[0]).toBe('Start batch 1: UP01');
    expect(out).toContainEqual(expect.stringMatching(/^\d{4}-\d\d-\d\dT\S+Z UP01: RCU CPU stalls seen: .*self-detected stall on CPU$/));
    expect(out).toContainEqual(expect.stringMatching(/^\d{4}-\d\d-\d\dT\S+Z progress: UP01 \d+s\/30s 715 GPs/));
  });

  it('on a terminal redraws builds and guests in place under the log lines', async () => {
    const terminal = Object.assign(new PassThrough(), { isTTY: true, columns: 120 }) as unknown as NodeJS.WriteStream;
    let drawn = '';
    (terminal as unknown as PassThrough).on('data', (d: Buffer) => (drawn += d.toString()));
    const log = path.join(dir, 'c.log');
    writeFileSync(log, text([...boot(), rcuStart(), ...rcuStat(15, 999)]));
    const out: string[] = [];
    await withRunProgress({ out: (l) => out.push(l), err: (l) => out.push(l) }, async (hooks) => {
      hooks.progress.build!({ label: 'UP01', instances: ['UP01'], phase: 'make', elapsedMs: 3000, detail: 'LD vmlinux' });
      hooks.progress.guestStarted!({ instance: 'UP01', consoleLog: log, durationSeconds: 30 });
      await sleep(120);
      hooks.log('a log line');
    }, { env: {}, terminal, redrawMs: 20 });
    expect(drawn).toContain('build UP01 make 3s: LD vmlinux');
    expect(drawn).toContain('UP01 0s/30s 999 GPs');
    expect(out).toEqual(['a log line']);
  });
});
