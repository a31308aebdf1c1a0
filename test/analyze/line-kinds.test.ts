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
import { analyze, cleanRcu, HARMLESS, text, TROUBLE_EXAMPLES as EXAMPLES, ts } from './fixtures.js';

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
