import { describe, expect, it } from 'vitest';
import { addGpPoint, joinGpSeries, lineSeconds, thinGpSeries, type GpPoint } from '../../src/analyze/gp-series.js';
import { analyze, boot, rcuEnd, rcuStart, rcuStat, text } from './fixtures.js';

describe('grace periods over time', () => {
  it('keeps the first statistics line of each second, and joining stretches gives what one read gives', () => {
    const points: [number, number][] = [[15.1, 700], [15.7, 710], [30.2, 1400], [29.9, 1390], [45, 2100], [45.5, 2110], [60, 2800]];
    const whole: GpPoint[] = [];
    for (const [t, v] of points) addGpPoint(whole, t, v);
    expect(whole).toEqual([[15.1, 700], [30.2, 1400], [45, 2100], [60, 2800]]);
    for (let cut = 0; cut <= points.length; cut++) {
      const a: GpPoint[] = [];
      const b: GpPoint[] = [];
      for (const [t, v] of points.slice(0, cut)) addGpPoint(a, t, v);
      for (const [t, v] of points.slice(cut)) addGpPoint(b, t, v);
      expect(joinGpSeries(a, b)).toEqual(whole);
    }
    expect(lineSeconds('[   16.610095] rcu-torture: rtc')).toBe(16.610095);
    expect(lineSeconds('rcu-torture: rtc')).toBeNaN();
  });

  it('thins a long series to a hundred points, the first and last kept', () => {
    const long: GpPoint[] = Array.from({ length: 5000 }, (_, i) => [i * 15, i * 100]);
    const thin = thinGpSeries(long);
    expect(thin).toHaveLength(100);
    expect(thin[0]).toEqual([0, 0]);
    expect(thin[99]).toEqual(long[4999]);
  });

  it('comes out of the console with the start of the test', async () => {
    const f = await analyze(text([...boot(), rcuStart(1.2), ...rcuStat(15, 715), ...rcuStat(30, 1430), rcuEnd(31)]));
    expect(f.testStartedAt).toBe(1.2);
    expect(f.gpSeries).toEqual([[15, 715], [30, 1430]]);
  });
});
