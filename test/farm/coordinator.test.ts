import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { coordinate, type CoordinateInput } from '../../src/farm/coordinator.js';
import { REMOTE_LOG } from '../../src/farm/remote-log.js';
import { isKvmFarmError } from '../../src/util/errors.js';
import { FakeFarm } from './fake-farm.js';

const S = 1000;
const farms: FakeFarm[] = [];
afterEach(() => farms.splice(0).forEach((f) => f.remove()));

function farm(...hosts: [string, number][]): FakeFarm {
  const f = new FakeFarm(hosts.map(([name, cpus]) => ({ name, cpus })));
  farms.push(f);
  return f;
}

/** `pass@h2`: each instance's verdict and where it ran. */
function kinds(results: Map<string, { verdict?: { kind: string }; host?: string }>): Record<string, string> {
  return Object.fromEntries([...results].map(([id, r]) => [id, `${r.verdict?.kind ?? 'none'}@${r.host ?? '-'}`]));
}

function remoteLog(f: FakeFarm): string {
  return readFileSync(path.join(f.runDir, REMOTE_LOG), 'utf8');
}

describe('the coordinator on fake hosts and a fake clock', () => {
  it('a host lost mid-batch: its instances are requeued and run on the other host; every result names where it ran', async () => {
    const f = farm(['h1', 2], ['h2', 2]);
    const input = f.input({ A: 1, B: 1, C: 1, D: 1 }, { maxReconnects: 2 });
    // h1 drops 10 s into its first batch and never answers again.
    f.clock.setTimeout(() => f.cut('h1', true), 11 * S);
    const outcome = await f.clock.run(coordinate(input));

    expect(outcome.quorum).toMatchObject({ trigger: 'all-ready', ready: ['h1', 'h2'] });
    expect(kinds(input.results)).toEqual({ A: 'pass@h2', B: 'pass@h2', C: 'pass@h2', D: 'pass@h2' });
    // h1's batch was lost, h2 ran its own batch and then h1's instances.
    expect(outcome.hostBatches.get('h1')!.map((b) => b.instances)).toEqual([['A', 'B']]);
    expect(outcome.hostBatches.get('h2')!.map((b) => b.instances)).toEqual([['C', 'D'], ['A', 'B']]);
    expect(outcome.ledger.filter((a) => a.instance === 'A')).toEqual([
      { instance: 'A', attempt: 1, host: 'h1', outcome: 'lost' },
      { instance: 'A', attempt: 2, host: 'h2', outcome: 'finished' },
    ]);
    const [h1, h2] = outcome.members;
    expect(h1!.report.losses).toBe(1);
    expect(h1!.machine.state).toBe('failed');
    expect(h1!.machine.lastReason).toMatch(/^gave up after 2 reconnect attempts; last: h1: connection refused/);
    expect(h2!.machine.state).toBe('done');
    expect(f.cleanUps).toEqual(['h2']);
    // The requeue happened at the moment of the loss, not at some later poll.
    expect(remoteLog(f)).toMatch(/ h1 requeued A \(attempt 2\) 0 ms after the loss was noticed/);
    // Two batches of 30 s one after the other on h2, after 1.1 s of bring-up.
    expect(f.clock.now()).toBeLessThan(65 * S);
  });

  it('a lost host rejoins: reconnected on a new connection, swept, probed and shipped again, and it takes queued work', async () => {
    const f = farm(['h1', 2], ['h2', 2]);
    const input = f.input({ A: 1, B: 1, C: 1, D: 1, E: 1, F: 1 });
    f.clock.setTimeout(() => f.cut('h1'), 11 * S);
    const outcome = await f.clock.run(coordinate(input));

    expect(Object.values(kinds(input.results)).every((k) => k.startsWith('pass@'))).toBe(true);
    const h1 = outcome.members[0]!;
    expect(h1.report.losses).toBe(1);
    expect(h1.machine.state).toBe('done');
    expect(h1.machine.history.map((t) => t.to)).toEqual([
      'probing', 'shipping', 'ready', 'running', 'lost', 'rejoining', 'probing', 'shipping', 'ready', 'running', 'ready', 'collecting', 'done',
    ]);
    expect(f.sweeps).toEqual(['h1']);
    // The rejoined host ran the queued E and F on its second connection; A and B, lost on h1, ran on h2.
    const second = f.spawns.filter((s) => s.host === 'h1' && s.connection === 2).map((s) => s.instance);
    expect(second).toEqual(['E', 'F']);
    expect(input.results.get('A')!.host).toBe('h2');
    expect(input.results.get('E')!.host).toBe('h1');
    expect(outcome.hostBatches.get('h1')!.map((b) => b.instances)).toEqual([['A', 'B'], ['E', 'F']]);
  });

  it('too few hosts ready in time: a quorum error naming each missing host and why; nothing runs, every instance says not run', async () => {
    const f = farm(['h1', 2], ['h2', 2], ['h3', 2]);
    f.setDown('h2');
    f.setDown('h3');
    const input = f.input({ A: 1, B: 1 }, { minHosts: 2, gatherTimeoutMs: 60 * S, maxReconnects: 20 });
    const outcome = await f.clock.run(coordinate(input));

    expect(f.clock.now()).toBe(60 * S);
    expect(isKvmFarmError(outcome.failure)).toBe(true);
    expect(outcome.failure!.message).toBe(
      'only 1 of 3 hosts ready after 60 s, --min-hosts needs 2; missing: h2 (connection refused), h3 (connection refused): fix those hosts, lower --min-hosts or raise --gather-timeout');
    expect(outcome.quorum).toMatchObject({ trigger: 'failed', ready: ['h1'], minHosts: 2 });
    expect(outcome.quorum.missing.map((m) => m.host)).toEqual(['h2', 'h3']);
    for (const r of input.results.values()) expect(r.verdict).toMatchObject({ kind: 'infra-error', reasons: [expect.stringMatching(/^not run: the quorum was not met/)] });
    expect(f.spawns).toEqual([]);
    expect(outcome.members.map((m) => m.machine.state)).toEqual(['done', 'failed', 'failed']);
  });

  it('an interrupt mid-batch: every guest is stopped and judged, queued instances are not run, hosts are cleaned up', async () => {
    const f = farm(['h1', 2], ['h2', 2]);
    const abort = new AbortController();
    const input = f.input({ A: 1, B: 1, C: 1, D: 1, E: 1, F: 1 }, { signal: abort.signal });
    f.clock.setTimeout(() => abort.abort(), 11 * S);
    const outcome = await f.clock.run(coordinate(input));

    expect(f.clock.now()).toBe(11 * S);
    expect(f.spawns.map((s) => s.ended?.status)).toEqual(Array(4).fill({ exitCode: null, signal: 'SIGTERM' }));
    for (const id of ['A', 'B', 'C', 'D']) {
      const r = input.results.get(id)!;
      expect(r.guest, id).toMatchObject({ stopped: true, signal: 'SIGTERM', durationMs: 11 * S - 1100 });
      expect(r.verdict!.kind).toBe('fail');
    }
    for (const id of ['E', 'F']) expect(input.results.get(id)!.verdict).toMatchObject({ kind: 'infra-error', reasons: ['not run: the run was interrupted'] });
    expect(outcome.members.map((m) => [m.machine.state, m.machine.history.at(-2)!.reason])).toEqual([
      ['done', 'interrupted: stopping what is left and cleaning up'], ['done', 'interrupted: stopping what is left and cleaning up'],
    ]);
    expect(outcome.members[0]!.machine.history.map((t) => t.to)).toContain('stopping');
    expect(f.cleanUps.sort()).toEqual(['h1', 'h2']);
  });

  it('a host unreachable at the start: the run starts on the minimum after the countdown, and the late host takes work once it answers', async () => {
    const f = farm(['h1', 2], ['h2', 2]);
    f.setDown('h2');
    const input = f.input({ A: 2, B: 2, C: 2 }, { minHosts: 1, gatherTimeoutMs: 5 * S });
    f.clock.setTimeout(() => f.setUp('h2'), 8 * S);
    const outcome = await f.clock.run(coordinate(input));

    expect(outcome.quorum).toMatchObject({ trigger: 'countdown', ready: ['h1'], missing: [{ host: 'h2', why: 'connection refused' }] });
    expect(kinds(input.results)).toEqual({ A: 'pass@h1', B: 'pass@h2', C: 'pass@h1' });
    expect(outcome.members.map((m) => m.machine.state)).toEqual(['done', 'done']);
    expect(outcome.members[1]!.machine.history.map((t) => t.to).slice(0, 4)).toEqual(['unreachable', 'connecting', 'unreachable', 'connecting']);
  });

  it('an interrupt while gathering: no guest starts, every instance says not run, and no reconnect is left pending', async () => {
    const f = farm(['h1', 2], ['h2', 2]);
    f.setDown('h2');
    const abort = new AbortController();
    const input = f.input({ A: 1 }, { signal: abort.signal });
    f.clock.setTimeout(() => abort.abort(), 3 * S);
    const outcome = await f.clock.run(coordinate(input));

    expect(outcome.failure).toBeUndefined();
    expect(outcome.quorum).toMatchObject({ trigger: 'interrupted', ready: ['h1'] });
    expect(input.results.get('A')!.verdict).toMatchObject({ reasons: ['not run: the run was interrupted'] });
    expect(f.spawns).toEqual([]);
    expect(outcome.members.map((m) => m.machine.state)).toEqual(['done', 'failed']);
    expect(outcome.members[1]!.retryTimer).toBeUndefined();
  });

  it('--retries 0: instances lost with their host are infra-errors at once, never rerun; the rest still run', async () => {
    const f = farm(['h1', 2], ['h2', 2]);
    const input = f.input({ A: 1, B: 1, C: 1, D: 1, E: 1 }, { retries: 0 });
    f.clock.setTimeout(() => f.cut('h1', true), 11 * S);
    const outcome = await f.clock.run(coordinate(input));

    expect(kinds(input.results)).toEqual({ A: 'infra-error@-', B: 'infra-error@-', C: 'pass@h2', D: 'pass@h2', E: 'pass@h2' });
    expect(input.results.get('A')!.verdict!.reasons).toEqual(['host lost 1 times: h1 (attempt 1); --retries 0 used up, so the kernel was never judged']);
    expect(f.spawns.filter((s) => s.instance === 'A').map((s) => s.host)).toEqual(['h1']);
    expect(outcome.ledger.filter((a) => a.outcome === 'lost').map((a) => a.instance)).toEqual(['A', 'B']);
  });

  it('channels that close before the loss is told: the dead guests are not judged but requeued once the loss arrives', async () => {
    const f = farm(['h1', 2], ['h2', 2]);
    const input = f.input({ A: 1, B: 1, C: 1, D: 1 }, { maxReconnects: 1 });
    // The guests' channels fail at 11 s; the keepalive notices the dead link 5 s later.
    f.clock.setTimeout(() => f.cut('h1', true, 5 * S), 11 * S);
    const outcome = await f.clock.run(coordinate(input));

    expect(kinds(input.results)).toEqual({ A: 'pass@h2', B: 'pass@h2', C: 'pass@h2', D: 'pass@h2' });
    expect(remoteLog(f)).toMatch(/ h1 requeued A \(attempt 2\)/);
    expect(remoteLog(f)).not.toMatch(/ h1 collected A/);
    expect(outcome.members[0]!.machine.history.find((t) => t.to === 'lost')!.at).toBe(new Date(16 * S).toISOString());
  });
});


describe('the coordinator with kernels still being built (fake hosts, fake clock)', () => {
  /**
   * A build beside the run: h1 builds K1 for 50 s, then K2 for 50 s; A's kernel is
   * there from the start, B's comes with K1, C's build (K2) fails. h2 never builds.
   */
  function buildingSupply(f: FakeFarm) {
    const builds = ['K1', 'K2'];
    let building: string | undefined;
    const offers: string[] = [];
    let run: Parameters<NonNullable<CoordinateInput['supply']>['connect']>[0] | undefined;
    const startBuild = (): void => {
      const key = builds.shift()!;
      building = key;
      offers.push(`${key}@${f.clock.now()}`);
      f.clock.setTimeout(() => {
        building = undefined;
        if (key === 'K1') run!.ready(['B']);
        else {
          run!.failed(['C']);
        }
        run!.idle('h1');
      }, 50 * S);
    };
    const supply: NonNullable<CoordinateInput['supply']> = {
      held: () => ['B', 'C'],
      builds: {
        offer: (host) => {
          if (host !== 'h1') return false;
          if (building) return true;
          if (builds.length === 0) return false;
          startBuild();
          return true;
        },
      },
      connect: (r) => (run = r),
    };
    return { supply, offers, markFailed: (input: CoordinateInput) => (input.results.get('C')!.verdict = { instance: 'C', kind: 'build-failed', reasons: ['make failed'], quoted: [] }) };
  }

  it('guests whose kernels exist run while other kernels build; a builder takes batches once it has nothing to build; a failed build is never run', async () => {
    const f = farm(['h1', 2], ['h2', 2]);
    const { supply, offers, markFailed } = buildingSupply(f);
    const input = f.input({ A: 1, B: 1, C: 1 }, { supply });
    // The build farm writes the verdict of a failed build before it says so.
    f.clock.setTimeout(() => markFailed(input), 99 * S);
    const outcome = await f.clock.run(coordinate(input));

    expect(kinds(input.results)).toEqual({ A: 'pass@h2', B: 'pass@h2', C: 'build-failed@-' });
    // h1 built K1 and then K2 and never ran a guest; h2 ran A at once, without waiting for any build, then B once K1 existed.
    // Bring-up takes 1.1 s; K2 starts the moment K1 ends.
    expect(offers).toEqual(['K1@1100', 'K2@51100']);
    expect(outcome.hostBatches.get('h1')).toBeUndefined();
    const h2 = outcome.hostBatches.get('h2')!;
    expect(h2.map((b) => b.instances)).toEqual([['A'], ['B']]);
    expect(h2[0]!.startedMs).toBe(0);
    // B started the moment K1 was built (50 s after h1 began building it), while K2 was still building.
    expect(h2[1]!.startedMs).toBe(50 * S);
    expect(f.spawns.map((s) => s.instance).sort()).toEqual(['A', 'B']);
  });

  it('instances still waiting for a kernel when no host is left are not run, and the run ends', async () => {
    const f = farm(['h1', 2]);
    const supply: NonNullable<CoordinateInput['supply']> = { held: () => ['B'], connect: () => {} };
    const input = f.input({ A: 1, B: 1 }, { supply, maxReconnects: 1 });
    f.clock.setTimeout(() => f.cut('h1', true), 5 * S);
    await f.clock.run(coordinate(input));
    expect(input.results.get('B')!.verdict).toMatchObject({ kind: 'infra-error', reasons: [expect.stringMatching(/no host left to run it/)] });
  });
});
