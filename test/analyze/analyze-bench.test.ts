import { describe, expect, it } from 'vitest';
import { benchAnalyze } from '../../bench/analyze-bench.js';

// The real bench writes 250 MB; a tiny run keeps it working without loading the 2 shared cores.
describe('benchAnalyze', () => {
  it('writes, analyzes and removes two small consoles', async () => {
    const r = await benchAnalyze({ smallMb: 1, largeMb: 4 });
    expect(r.small.sizeMb).toBeGreaterThanOrEqual(1);
    expect(r.large.sizeMb).toBeGreaterThanOrEqual(4);
    expect(r.large.gracePeriods).toBeGreaterThan(r.small.gracePeriods ?? 0);
    expect(r.mbPerSecond).toBeGreaterThan(0);
    expect(r.peakRssMb).toBeGreaterThan(0);
  });
});
