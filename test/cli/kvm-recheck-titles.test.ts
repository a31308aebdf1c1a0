import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/kvm-recheck.js';
import { writeFakeRun } from '../again/fake-run.js';
import { boot, guest, rcuEnd, rcuStart, rcuStat, text, ts } from '../analyze/fixtures.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'kvmfarm-titles-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function stalled(cpu: number, t: number): string {
  return text([
    ...boot(),
    rcuStart(),
    ...rcuStat(15, 700 + cpu),
    `${ts(t)} rcu: INFO: rcu_preempt self-detected stall on CPU`,
    `${ts(t)} rcu: \t${cpu}-....: (${2100 + cpu * 7} ticks this GP) idle=${cpu}a4/1/0x4000000000000000`,
    `${ts(t)} Call Trace:`,
  ]);
}

/** A run of TREE03 and TREE03.2 with the given consoles, as kvm-run leaves it. */
function run(name: string, consoles: string[]): string {
  const ids = ['TREE03', 'TREE03.2'];
  const dir = writeFakeRun(path.join(tmp, name), ids.map((id) => ({ id, batch: 1 })));
  ids.forEach((id, i) => {
    writeFileSync(path.join(dir, id, 'console.log'), consoles[i]!);
    writeFileSync(path.join(dir, id, 'guest.json'), JSON.stringify(guest({ instance: id, logPath: path.join(dir, id, 'console.log') })));
  });
  return dir;
}

describe('kvm-recheck over several runs', () => {
  it('ends with the failure titles grouped by scenario across the runs, and writes titles into verdict.json and junit.xml', async () => {
    const clean = text([...boot(), rcuStart(), ...rcuStat(15, 715), rcuEnd(16)]);
    const a = run('a', [stalled(1, 40.5), clean]);
    const b = run('b', [stalled(3, 71.25), stalled(0, 22)]);
    const out: string[] = [];
    const status = await main([a, b], { out: (l) => out.push(l), err: (l) => out.push(l) });
    expect(status).toBe(1);
    expect(out.slice(-2)).toEqual(['Failures by title over 2 run(s):', 'TREE03: 3/4 instances: rcu: INFO: rcu_preempt detected stall on CPU']);
    const verdict = JSON.parse(readFileSync(path.join(b, 'TREE03.2', 'verdict.json'), 'utf8'));
    expect(verdict.title).toBe('rcu: INFO: rcu_preempt detected stall on CPU');
    expect(readFileSync(path.join(a, 'junit.xml'), 'utf8')).toContain('message="fail: rcu: INFO: rcu_preempt detected stall on CPU"');
    expect(out.find((l) => l.startsWith('TREE03 ') && l.includes('FAIL'))).toContain('- rcu: INFO: rcu_preempt detected stall on CPU');
  });
});
