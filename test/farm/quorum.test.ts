import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Clock } from '../../src/farm/clock.js';
import { HostStateMachine } from '../../src/farm/host-state.js';
import { describeHost, gatherMachines, Quorum, type QuorumStart } from '../../src/farm/quorum.js';
import { isKvmFarmError, type KvmFarmError } from '../../src/util/errors.js';

const S = 1_000;

beforeEach(() => void vi.useFakeTimers());
afterEach(() => void vi.useRealTimers());

/** What the started promise has done so far, without waiting on it. */
function track(q: Quorum): { value?: QuorumStart; error?: KvmFarmError } {
  const seen: { value?: QuorumStart; error?: KvmFarmError } = {};
  q.started.then((v) => (seen.value = v), (e: KvmFarmError) => (seen.error = e));
  return seen;
}

async function at(ms: number): Promise<void> {
  await vi.advanceTimersByTimeAsync(ms);
}

describe('Quorum', () => {
  it('starts at once when every host is ready, before any countdown', async () => {
    const q = new Quorum({ hosts: ['h1', 'h2', 'h3'], minHosts: 2, gatherTimeoutMs: 60 * S });
    const seen = track(q);
    await at(2 * S);
    q.markReady('h2');
    q.markReady('h1');
    await at(1 * S);
    expect(seen.value).toBeUndefined();
    q.markReady('h3');
    await at(0);
    expect(seen.value).toEqual({ ready: ['h2', 'h1', 'h3'], missing: [], elapsedMs: 3 * S, trigger: 'all-ready' });
    expect(vi.getTimerCount()).toBe(0);
  });

  it('with the minimum ready, starts when the countdown of T ends; a late host is still counted ready', async () => {
    const q = new Quorum({ hosts: ['h1', 'h2', 'h3'], minHosts: 2, gatherTimeoutMs: 30 * S });
    const seen = track(q);
    await at(10 * S);
    q.markReady('h1');
    q.markReady('h2');
    await at(30 * S - 1);
    expect(seen.value).toBeUndefined();
    await at(1);
    expect(seen.value).toMatchObject({ ready: ['h1', 'h2'], trigger: 'countdown', elapsedMs: 40 * S });
    expect(seen.value!.missing).toEqual([{ host: 'h3', why: 'not ready yet' }]);
    q.markReady('h3');
    q.markReady('h3');
    expect(q.readyHosts).toEqual(['h1', 'h2', 'h3']);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('starts early when the last host arrives during the countdown', async () => {
    const q = new Quorum({ hosts: ['h1', 'h2'], minHosts: 1, gatherTimeoutMs: 30 * S });
    const seen = track(q);
    q.markReady('h1');
    await at(5 * S);
    q.markReady('h2');
    await at(0);
    expect(seen.value).toMatchObject({ trigger: 'all-ready', elapsedMs: 5 * S });
  });

  it('fails after T from the start of gathering, naming each missing host and why on one line', async () => {
    const q = new Quorum({ hosts: ['h1', 'h2', 'h3'], minHosts: 2, gatherTimeoutMs: 30 * S });
    const seen = track(q);
    q.markReady('h1');
    q.markNotReady('h2', 'connection refused');
    await at(30 * S);
    expect(isKvmFarmError(seen.error)).toBe(true);
    expect(seen.error!.code).toBe('KVMFARM_QUORUM');
    expect(seen.error!.message).toBe('only 1 of 3 hosts ready after 30 s, --min-hosts needs 2; missing: h2 (connection refused), h3 (not ready yet): fix those hosts, lower --min-hosts or raise --gather-timeout');
    expect(seen.error!.message).not.toContain('\n');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('fails when a host lost during the countdown leaves fewer than the minimum past the gather limit', async () => {
    const q = new Quorum({ hosts: ['h1', 'h2', 'h3'], minHosts: 2, gatherTimeoutMs: 30 * S });
    const seen = track(q);
    q.markReady('h1');
    q.markReady('h2');
    await at(20 * S);
    q.markNotReady('h2', 'connection lost');
    await at(15 * S);
    // The countdown (due at 30 s) was stopped at 20 s; at 30 s one host is too few.
    expect(seen.value).toBeUndefined();
    expect(seen.error?.message).toMatch(/only 1 of 3 hosts ready after 30 s/);
  });

  it('a host lost during the countdown that comes back restarts the countdown from then', async () => {
    const q = new Quorum({ hosts: ['h1', 'h2', 'h3'], minHosts: 2, gatherTimeoutMs: 30 * S });
    const seen = track(q);
    q.markReady('h1');
    q.markReady('h2');
    await at(10 * S);
    q.markNotReady('h2', 'connection lost');
    await at(5 * S);
    q.markReady('h2');
    await at(30 * S - 1);
    expect(seen.value).toBeUndefined();
    await at(1);
    expect(seen.value).toMatchObject({ trigger: 'countdown', elapsedMs: 45 * S, ready: ['h1', 'h2'] });
  });

  it('fails at once, before T, when too many hosts failed for good to reach the minimum', async () => {
    const q = new Quorum({ hosts: ['h1', 'h2', 'h3'], minHosts: 2, gatherTimeoutMs: 600 * S });
    const seen = track(q);
    q.markNotReady('h1', 'auth refused', true);
    await at(1 * S);
    expect(seen.error).toBeUndefined();
    q.markNotReady('h3', 'key refused', true);
    await at(0);
    expect(seen.error?.message).toBe('only 0 of 3 hosts ready after 1 s, --min-hosts needs 2; missing: h1 (auth refused), h2 (not ready yet), h3 (key refused): fix those hosts, lower --min-hosts or raise --gather-timeout');
  });

  it('needs every host by default', async () => {
    const q = new Quorum({ hosts: ['h1', 'h2'], gatherTimeoutMs: 10 * S });
    const seen = track(q);
    q.markReady('h1');
    await at(10 * S);
    expect(seen.error?.message).toMatch(/^only 1 of 2 hosts ready after 10 s, --min-hosts needs 2; missing: h2 \(not ready yet\)/);
  });

  it('refuses bad settings and unknown hosts with a line that says the range', () => {
    expect(() => new Quorum({ hosts: ['h1', 'h2'], minHosts: 3, gatherTimeoutMs: 1 })).toThrow('--min-hosts 3: must be a whole number from 1 to 2');
    expect(() => new Quorum({ hosts: ['h1'], minHosts: 0, gatherTimeoutMs: 1 })).toThrow(/--min-hosts 0/);
    expect(() => new Quorum({ hosts: [], gatherTimeoutMs: 1 })).toThrow('no hosts to gather');
    expect(() => new Quorum({ hosts: ['h1'], gatherTimeoutMs: Infinity })).toThrow(/--gather-timeout/);
    const q = new Quorum({ hosts: ['h1'], gatherTimeoutMs: 1 });
    expect(() => q.markReady('h9')).toThrow(/h9 is not one of the hosts/);
    q.cancel(new Error('interrupted'));
  });

  it('cancel rejects the start and leaves no timer', async () => {
    const q = new Quorum({ hosts: ['h1', 'h2'], minHosts: 1, gatherTimeoutMs: 30 * S });
    const seen = track(q);
    q.markReady('h1');
    q.cancel(new Error('interrupted'));
    await at(0);
    expect((seen.error as Error | undefined)?.message).toBe('interrupted');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('runs on an injected clock without fake timers', async () => {
    vi.useRealTimers();
    const timers: Array<{ at: number; fn: () => void; live: boolean }> = [];
    let now = 0;
    const clock: Clock = {
      now: () => now,
      setTimeout: (fn, ms) => { const t = { at: now + ms, fn, live: true }; timers.push(t); return t; },
      clearTimeout: (t) => void ((t as { live: boolean }).live = false),
    };
    const q = new Quorum({ hosts: ['a', 'b'], minHosts: 1, gatherTimeoutMs: 5, clock });
    now = 2;
    q.markReady('a');
    now = 7;
    for (const t of timers.filter((x) => x.live && x.at <= now)) t.fn();
    await expect(q.started).resolves.toMatchObject({ trigger: 'countdown', elapsedMs: 7, ready: ['a'] });
  });
});

describe('Quorum on state machines', () => {
  it('3 hosts, one refused from the start, --min-hosts 2: starts on 2 and names the missing host', async () => {
    const machines = ['h1', 'h2', 'h3'].map((h) => new HostStateMachine(h));
    const [h1, h2, h3] = machines as [HostStateMachine, HostStateMachine, HostStateMachine];
    const { quorum, stop } = gatherMachines(machines, { minHosts: 2, gatherTimeoutMs: 20 * S });
    const seen = track(quorum);
    h3.transition('unreachable', 'h3: connection refused by 10.0.0.3:22', 'refused');
    for (const m of [h1, h2]) {
      m.transition('probing', 'connected');
      m.transition('shipping', '2 kernels');
      m.transition('ready', 'shipped');
    }
    await at(20 * S);
    expect(seen.value).toMatchObject({ ready: ['h1', 'h2'], missing: [{ host: 'h3', why: 'connection refused' }] });
    h3.transition('connecting', 'retry');
    h3.transition('probing', 'connected');
    h3.transition('ready', 'nothing to ship');
    expect(quorum.readyHosts).toEqual(['h1', 'h2', 'h3']);
    h2.transition('running', 'batch 1');
    h2.transition('lost', 'keepalive timeout', 'lost');
    expect(quorum.readyHosts).toEqual(['h1', 'h3']);
    h2.transition('rejoining', 'reconnect');
    h2.transition('probing', 'connected');
    h2.transition('ready', 'work dir intact');
    expect(quorum.readyHosts).toEqual(['h1', 'h3', 'h2']);
    stop();
    expect(machines.every((m) => m.listenerCount('transition') === 0)).toBe(true);
  });

  it('explains each missing host from its machine when the quorum fails', async () => {
    const machines = ['a', 'b', 'c', 'd'].map((h) => new HostStateMachine(h));
    const [a, b, c] = machines as [HostStateMachine, HostStateMachine, HostStateMachine];
    const { quorum } = gatherMachines(machines, { minHosts: 3, gatherTimeoutMs: 30 * S });
    const seen = track(quorum);
    c.transition('probing', 'connected');
    c.transition('shipping', '1 kernel');
    a.transition('failed', 'a: the name a.example does not resolve', 'dns');
    b.transition('probing', 'connected');
    await at(0);
    expect(seen.error).toBeUndefined();
    // Two of four gone for good leaves at most 2 < 3: no point waiting out the 30 s.
    b.transition('failed', 'no qemu-system-x86_64 on PATH', 'probe');
    await at(0);
    expect(seen.error?.message).toBe('only 0 of 4 hosts ready after 0 s, --min-hosts needs 3; missing: a (name does not resolve), b (probe failed: no qemu-system-x86_64 on PATH), c (still shipping), d (still connecting): fix those hosts, lower --min-hosts or raise --gather-timeout');
  });

  it('describeHost says a retrying host failed before', () => {
    const m = new HostStateMachine('h');
    m.transition('unreachable', 'timed out', 'timeout');
    expect(describeHost(m)).toBe('timeout');
    m.transition('connecting', 'retry');
    expect(describeHost(m)).toBe('timeout, connecting again');
    m.transition('probing', 'connected');
    expect(describeHost(m)).toBe('still probing');
  });
});

describe('quorum error from hostile probe output', () => {
  it('is still one line', async () => {
    const m = new HostStateMachine('h1');
    const { quorum } = gatherMachines([m], { gatherTimeoutMs: 10 * S });
    const seen = track(quorum);
    m.transition('probing', 'connected');
    m.transition('failed', 'no qemu\nsecond line', 'probe');
    await at(0);
    expect(seen.error?.message).toContain('h1 (probe failed: no qemu\\nsecond line)');
    expect(seen.error?.message).not.toContain('\n');
  });
});
