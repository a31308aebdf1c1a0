import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  createFleet, fileSink, HOST_STATES, HostStateMachine, HostWaitError, IllegalTransitionError, renderStateDiagram, TERMINAL_STATES, TRANSITIONS,
  type HostState,
} from '../../src/farm/host-state.js';

describe('transition table', () => {
  it('names only known states, and every state but the finals has a way out', () => {
    for (const [from, tos] of Object.entries(TRANSITIONS)) {
      for (const to of tos) expect(HOST_STATES).toContain(to);
      expect(tos).not.toContain(from);
    }
    expect([...TERMINAL_STATES].sort()).toEqual(['done', 'failed']);
  });

  it('lets every state reach a final state, so no host can be stuck for good', () => {
    for (const start of HOST_STATES) {
      const seen = new Set<HostState>([start]);
      const todo = [start];
      while (todo.length) for (const to of TRANSITIONS[todo.pop()!]) if (!seen.has(to)) (seen.add(to), todo.push(to));
      expect(TERMINAL_STATES.some((t) => seen.has(t)), start).toBe(true);
    }
  });

  it('has the back edges the seed asks for', () => {
    expect(TRANSITIONS.lost).toContain('rejoining');
    expect(TRANSITIONS.rejoining).toContain('probing');
    expect(TRANSITIONS.unreachable).toContain('connecting');
    expect(TRANSITIONS.running).toContain('ready');
    expect(TRANSITIONS.ready).not.toContain('shipping');
    for (const s of ['probing', 'shipping', 'ready', 'running', 'stopping', 'collecting'] as const) expect(TRANSITIONS[s]).toContain('lost');
  });
});

describe('HostStateMachine', () => {
  it('walks a lost host back into the run and records every move', () => {
    const lines: string[] = [];
    const m = new HostStateMachine('h2', { sink: (line) => lines.push(line) });
    const path_: HostState[] = ['probing', 'shipping', 'ready', 'running', 'lost', 'rejoining', 'probing', 'ready', 'running', 'collecting', 'done'];
    for (const to of path_) m.transition(to, `to ${to}`, to === 'lost' ? 'lost' : undefined);
    expect(m.state).toBe('done');
    expect(m.history.map((t) => t.to)).toEqual(path_);
    expect(m.history[0]!.from).toBe('connecting');
    expect(lines).toHaveLength(path_.length);
    expect(lines[4]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z h2 state running -> lost: to lost \[lost\]$/);
    expect(m.lastFailure?.reason).toBe('to lost');
  });

  it('is usable only while connected and in the run', () => {
    const m = new HostStateMachine('h1');
    const seen: boolean[] = [m.usable];
    for (const to of ['probing', 'ready', 'running', 'lost', 'rejoining', 'probing', 'ready', 'collecting', 'done'] as const) {
      m.transition(to, 'x');
      seen.push(m.usable);
    }
    expect(seen).toEqual([false, true, true, true, false, false, true, true, false, false]);
  });

  it('throws a typed error for a move not in the table and stays put', () => {
    const lines: string[] = [];
    const m = new HostStateMachine('h1', { sink: (l) => lines.push(l) });
    expect(() => m.transition('running', 'skip ahead')).toThrow(IllegalTransitionError);
    expect(() => m.transition('running', 'skip ahead')).toThrow('host h1: no transition connecting -> running');
    m.transition('failed', 'auth refused', 'auth');
    expect(() => m.transition('connecting', 'again')).toThrow(/allowed: none/);
    expect(m.state).toBe('failed');
    expect(lines).toHaveLength(1);
  });

  it('appends its lines to a file through fileSink', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kvmfarm-fleet-'));
    try {
      const file = path.join(dir, 'remote-log');
      const m = new HostStateMachine('h3', { sink: fileSink(file) });
      m.transition('unreachable', 'connection refused', 'refused');
      m.transition('connecting', 'retry 1');
      const lines = readFileSync(file, 'utf8').split('\n');
      expect(lines.slice(0, 2).map((l) => l.replace(/^\S+ /, ''))).toEqual([
        'h3 state connecting -> unreachable: connection refused [refused]',
        'h3 state unreachable -> connecting: retry 1',
      ]);
      expect(lines[2]).toBe('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('waitFor', () => {
  beforeEach(() => void vi.useFakeTimers({ now: new Date('2026-11-21T10:00:00Z') }));
  afterEach(() => void vi.useRealTimers());

  it('resolves at once when already there, and on the move when not', async () => {
    const m = new HostStateMachine('h1');
    await expect(m.waitFor('connecting', 10)).resolves.toBe('connecting');
    const waiting = m.waitFor(['ready', 'running'], 5_000);
    m.transition('probing', 'connected');
    vi.advanceTimersByTime(1_000);
    m.transition('ready', 'nothing to ship');
    await expect(waiting).resolves.toBe('ready');
    expect(m.listenerCount('transition')).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rejects when the limit passes, naming the state it is stuck in', async () => {
    const m = new HostStateMachine('h1');
    m.transition('probing', 'connected');
    const waiting = m.waitFor('ready', 30_000);
    const caught = waiting.catch((e: unknown) => e);
    vi.advanceTimersByTime(29_999);
    m.transition('shipping', '3 kernels');
    vi.advanceTimersByTime(1);
    const error = await caught;
    expect(error).toBeInstanceOf(HostWaitError);
    expect((error as HostWaitError).code).toBe('KVMFARM_HOST_TIMEOUT');
    expect((error as Error).message).toBe('host h1: not ready within 30000 ms (still shipping: 3 kernels)');
    expect(m.listenerCount('transition')).toBe(0);
  });

  it('gives up at once when the host reaches a final state it will never leave', async () => {
    const m = new HostStateMachine('h1');
    const waiting = m.waitFor('ready', 60_000).catch((e: unknown) => e);
    m.transition('probing', 'connected');
    m.transition('failed', 'probe failed: no qemu-system-x86_64', 'probe');
    expect(((await waiting) as Error).message).toBe('host h1: will never be ready: it is failed: probe failed: no qemu-system-x86_64');
    expect(vi.getTimerCount()).toBe(0);
    await expect(m.waitFor('ready', 1)).rejects.toThrow(HostWaitError);
  });

  it('refuses to wait without a finite limit', () => {
    const m = new HostStateMachine('h1');
    expect(() => m.waitFor('ready', Infinity)).toThrow(RangeError);
    expect(() => m.waitFor('ready', Number.NaN)).toThrow(RangeError);
  });

  it('stamps transitions with the injected time', () => {
    const m = new HostStateMachine('h1');
    vi.advanceTimersByTime(1_500);
    expect(m.transition('probing', 'x').at).toBe('2026-11-21T10:00:01.500Z');
  });
});

describe('renderStateDiagram', () => {
  it('lists every state with its exits and marks back edges and faults', () => {
    const lines = renderStateDiagram().split('\n');
    expect(lines).toHaveLength(HOST_STATES.length + 1);
    expect(lines[0]).toBe('path: connecting -> probing -> shipping -> ready -> running -> stopping -> collecting -> done');
    const text = lines.join('\n');
    expect(text).toMatch(/^connecting\s+-> probing, unreachable \(fault\), failed \(fault\), done$/m);
    expect(text).toMatch(/^unreachable\s+-> connecting \(back\), failed \(fault\)$/m);
    expect(text).toMatch(/^rejoining\s+-> probing \(back\), lost \(fault\), failed \(fault\)$/m);
    expect(text).toMatch(/^running\s+-> ready \(back\), stopping, collecting, lost \(fault\)$/m);
    expect(text).toMatch(/^ready\s+-> running, collecting, lost \(fault\)$/m);
    expect(text).toMatch(/^done\s+\(final\)$/m);
  });

  it('draws whatever table it is given', () => {
    const table = { ...TRANSITIONS, done: ['connecting'] } as typeof TRANSITIONS;
    expect(renderStateDiagram(table)).toMatch(/^done\s+-> connecting \(back\)$/m);
  });
});

describe('log lines from hostile text', () => {
  it('stay one line when a host name or reason carries newlines and escapes', () => {
    const lines: string[] = [];
    const m = new HostStateMachine('h1\n2026-01-01T00:00:00.000Z h2 state', { sink: (l) => lines.push(l) });
    m.transition('probing', 'connected');
    m.transition('failed', 'qemu: not found\n2026-01-01T00:00:00.000Z h3 state running -> done: ok\x1b[2J', 'probe');
    expect(lines.every((l) => !/[\n\r\x1b]/.test(l))).toBe(true);
    expect(lines[1]).toMatch(/h1\\n2026-01-01T00:00:00\.000Z h2 state state probing -> failed: qemu: not found\\n2026.*ok\\x1b\[2J \[probe\]$/);
  });
});

describe('createFleet', () => {
  it('makes one machine per distinct host, sharing the sink', () => {
    const lines: string[] = [];
    const fleet = createFleet(['h1', 'h2', 'h1'], { sink: (l) => lines.push(l) });
    expect([...fleet.keys()]).toEqual(['h1', 'h2']);
    fleet.get('h1')!.transition('probing', 'a');
    fleet.get('h2')!.transition('unreachable', 'b', 'timeout');
    expect(lines.map((l) => l.split(' ').slice(1, 5).join(' '))).toEqual(['h1 state connecting ->', 'h2 state connecting ->']);
    expect([...fleet.values()].map((m) => m.state)).toEqual(['probing', 'unreachable']);
  });
});
