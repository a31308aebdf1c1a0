import { describe, expect, it } from 'vitest';
import type { Clock } from '../../src/farm/clock.js';
import { ProgressCounter, formatProgress } from '../../src/farm/progress.js';

describe('ProgressCounter', () => {
  it('counts batches and judgements, and estimates the time left from the slowest host and the shared queue', () => {
    let now = 0;
    const clock: Clock = { now: () => now, setTimeout: () => 0, clearTimeout: () => {} };
    let pending = 2;
    const seen: string[] = [];
    const hosts = [{ name: 'h1', state: 'running' as const }, { name: 'h2', state: 'ready' as const }];
    const p = new ProgressCounter(5, 30_000, () => hosts, (x) => seen.push(formatProgress(x)), () => pending, clock);
    expect(p.snapshot().remainingMs).toBeNull();
    p.batchStarted('h1');
    p.batchStarted('h2');
    pending = 1;
    now = 20_000;
    p.batchEnded('h1');
    p.batchStarted('h1');
    // h1 finished a batch in 20 s: its next takes as long; h2 has shown no pace, so 30 s; one batch still queued.
    expect(p.snapshot()).toMatchObject({ batches: { done: 1, running: 2, queued: 1 }, remainingMs: 20_000 + 30_000, elapsedMs: 20_000 });
    p.judged();
    expect(seen.at(-1)).toBe('hosts 2 (1 running, 1 ready) | batches 1 done, 2 running, 1 queued | judged 1/5 | 20s elapsed, ~50s left');
    pending = 0;
    now = 30_000;
    expect(p.snapshot()).toMatchObject({ batches: { done: 1, running: 2, queued: 0 }, judged: 1, remainingMs: 10_000 });
  });
});
