import { describe, expect, it } from 'vitest';
import { benchAnalyze } from '../../bench/analyze-bench.js';

// The real bench writes 250 MB; a tiny run keeps it working without loading the 2 shared cores.
describe('benchAnalyze', () => {
  it('writes, analyzes and removes three small consoles', async () => {
    const r = await benchAnalyze({ smallMb: 1, largeMb: 4 });
    for (const way of [r.byDefault, r.oneThread]) {
      expect(way.small.sizeMb).toBeGreaterThanOrEqual(1);
      expect(way.large.sizeMb).toBeGreaterThanOrEqual(4);
      expect(way.large.gracePeriods).toBeGreaterThan(way.small.gracePeriods ?? 0);
      expect(way.readings.large).toHaveLength(3);
      expect(way.readings.real).toHaveLength(3);
      // The real console's count keeps rising over its repeats: no bad sequence, and more than one repeat's worth.
      expect(way.real.gracePeriods).toBeGreaterThan(276 * 10);
      expect(way.real.sizeMb).toBeGreaterThanOrEqual(4);
    }
    // Both ways read the same logs and must find the same.
    expect(r.byDefault.large.gracePeriods).toBe(r.oneThread.large.gracePeriods);
    expect(r.byDefault.real.gracePeriods).toBe(r.oneThread.real.gracePeriods);
    expect(r.oneThread.threads).toBe(1);
    expect(r.mbPerSecond).toBeGreaterThan(0);
    expect(r.peakRssMb).toBeGreaterThan(0);
  });
});
