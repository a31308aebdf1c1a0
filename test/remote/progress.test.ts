import { describe, expect, it, vi } from 'vitest';
import { ProgressCounter, formatProgress } from '../../src/remote/progress.js';

describe('ProgressCounter', () => {
  it('counts batches and judgements, and estimates the time left from the slowest host', () => {
    vi.useFakeTimers({ now: 0 });
    try {
      const seen: string[] = [];
      const hosts = [{ name: 'h1', state: 'running' as const }, { name: 'h2', state: 'ready' as const }];
      const p = new ProgressCounter(5, 30_000, () => hosts, (x) => seen.push(formatProgress(x)));
      p.plan('h1', 3);
      p.plan('h2', 1);
      expect(p.snapshot().remainingMs).toBeNull();
      p.batchStarted('h1');
      p.batchStarted('h2');
      vi.setSystemTime(20_000);
      p.batchEnded('h1');
      p.batchStarted('h1');
      // h1 finished a batch in 20 s: its next ones take as long; 2 to go, one running from now.
      expect(p.snapshot()).toMatchObject({ batches: { done: 1, running: 2, queued: 1 }, remainingMs: 40_000, elapsedMs: 20_000 });
      p.judged();
      p.batchDropped('h1');
      vi.setSystemTime(30_000);
      // h2 has shown no pace yet: its running batch is estimated at the test duration.
      expect(p.snapshot()).toMatchObject({ batches: { done: 1, running: 2, queued: 0 }, judged: 1, remainingMs: 10_000 });
      expect(seen.at(-1)).toBe('hosts 2 (1 running, 1 ready) | batches 1 done, 2 running, 0 queued | judged 1/5 | 20s elapsed, ~20s left');
    } finally {
      vi.useRealTimers();
    }
  });
});
