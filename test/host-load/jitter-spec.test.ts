import { describe, expect, it } from 'vitest';
import { jitterProcessCount, parseJitter } from '../../src/host-load/jitter-spec.js';
import { resolveRunOptions } from '../../src/options/resolve-run.js';

describe('--jitter values as kvm.sh takes them', () => {
  it('reads N, maxsleep and maxspin, with kvm.sh defaults for the ones left out', () => {
    expect(parseJitter('-1')).toEqual({ processes: -1, maxSleepUs: 1_000_000, maxSpinUs: 1_000 });
    expect(parseJitter('0')).toEqual({ processes: 0, maxSleepUs: 1_000_000, maxSpinUs: 1_000 });
    expect(parseJitter('4 500000')).toEqual({ processes: 4, maxSleepUs: 500_000, maxSpinUs: 1_000 });
    expect(parseJitter(' 3  20000 2000 ')).toEqual({ processes: 3, maxSleepUs: 20_000, maxSpinUs: 2_000 });
  });

  it('refuses anything else with one line naming the value', () => {
    for (const bad of ['', 'x', '-2', '1 2 3 4', '2 -5', '2 1.5', '5000', '1 99999999999']) {
      expect(() => parseJitter(bad), bad).toThrow(new RegExp(`--jitter "${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"`));
    }
  });

  it('-1 means one process per CPU of the run', () => {
    expect(jitterProcessCount(parseJitter('-1'), 6)).toBe(6);
    expect(jitterProcessCount(parseJitter('2'), 6)).toBe(2);
    expect(jitterProcessCount(parseJitter('0'), 6)).toBe(0);
  });

  it('defaults to -1, except for the scaling suites, which get none unless asked', () => {
    expect(resolveRunOptions({}).jitter.processes).toBe(-1);
    expect(resolveRunOptions({ torture: 'refscale' }).jitter.processes).toBe(0);
    expect(resolveRunOptions({ torture: 'rcuscale', jitter: '2' }).jitter.processes).toBe(2);
    expect(resolveRunOptions({ jitter: { processes: 1, maxSleepUs: 10, maxSpinUs: 10 } }).jitter).toEqual({ processes: 1, maxSleepUs: 10, maxSpinUs: 10 });
  });
});
