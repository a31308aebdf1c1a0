import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { coordinate } from '../../src/farm/coordinator.js';
import type { GuestSteps } from '../../src/farm/scheduler.js';
import { REMOTE_LOG } from '../../src/farm/remote-log.js';
import type { Host } from '../../src/transport/index.js';
import { FakeFarm, type FakeHost } from './fake-farm.js';

const S = 1000;
const farms: FakeFarm[] = [];
afterEach(() => farms.splice(0).forEach((f) => f.remove()));

/**
 * A fake farm whose guests outlive their connection, as detached guests do: a cut
 * fails the console channel, the guest runs on (unless its host "reboots"), and a
 * reattach to the same boot follows it to its end. Boot ids per host can be changed.
 */
function detachedFarm(...hosts: [string, number][]): { f: FakeFarm; boots: Map<string, string>; guestRuns: string[]; steps: GuestSteps } {
  const f = new FakeFarm(hosts.map(([name, cpus]) => ({ name, cpus })));
  farms.push(f);
  const boots = new Map(hosts.map(([name]) => [name, `boot-${name}-1`]));
  const guestRuns: string[] = [];
  f.fleetSteps.bootId = async (host) => boots.get(host.name);
  const plain = f.guestSteps();
  const steps: GuestSteps = {
    ...plain,
    run: async ({ instance, host, onExit, reattach }) => {
      const started = f.clock.now();
      const boot = boots.get(host.name);
      guestRuns.push(`${instance}@${host.name}`);
      const base = { instance, host: host.name, timedOut: false, noOutput: false, stopped: false, logPath: '', token: 'tok', accel: 'tcg' as const, signal: null };
      // The guest's own life on the host: it ends guestMs after it started, whoever watches.
      const ends = started + f.guestMs;
      let current: Host = host;
      for (;;) {
        const dropped = await new Promise<boolean>((resolve) => {
          const fake = current as FakeHost;
          if (fake.lostError) return resolve(true);
          const timer = f.clock.setTimeout(() => resolve(false), Math.max(0, ends - f.clock.now()));
          fake.once('lost', () => {
            f.clock.clearTimeout(timer);
            resolve(true);
          });
        });
        if (!dropped) break;
        const next = reattach ? await reattach(current) : null;
        if (!next || boots.get(host.name) !== boot) {
          onExit();
          return { ...base, exitCode: null, startError: `${host.name}: connection lost`, durationMs: f.clock.now() - started };
        }
        current = next;
      }
      onExit();
      return { ...base, exitCode: 0, startError: null, durationMs: f.clock.now() - started };
    },
  };
  return { f, boots, guestRuns, steps };
}

function log(f: FakeFarm): string {
  return readFileSync(path.join(f.runDir, REMOTE_LOG), 'utf8');
}

describe('--lost-grace on fake hosts and a fake clock', () => {
  it('a host back on the same boot within the grace: its guests are followed on, nothing is rerun', async () => {
    const { f, guestRuns, steps } = detachedFarm(['h1', 1], ['h2', 1]);
    const input = f.input({ A: 1, B: 1 }, { lostGraceMs: 60 * S, guestSteps: steps });
    f.clock.setTimeout(() => f.cut('h2', true), 10 * S);
    f.clock.setTimeout(() => f.setUp('h2'), 20 * S);
    await f.clock.run(coordinate(input));
    expect(guestRuns.sort()).toEqual(['A@h1', 'B@h2']);
    expect([...input.results.values()].map((r) => [r.instance, r.verdict?.kind, r.host])).toEqual([['A', 'pass', 'h1'], ['B', 'pass', 'h2']]);
    expect(log(f)).toMatch(/h2 back on the same boot within --lost-grace: re-attaching/);
    expect(log(f)).not.toMatch(/requeued/);
    // Nothing of the run was swept from h2 when it came back: its guest was still wanted.
    expect(f.sweeps).toEqual([]);
  });

  it('past the grace: rerun elsewhere; the written-off guest, back and ended before its rerun, is judged, the rerun kept as an extra attempt', async () => {
    const { f, guestRuns, steps } = detachedFarm(['h1', 1], ['h2', 1], ['h3', 1]);
    f.guestMs = 30 * S;
    const input = f.input({ A: 1, B: 1 }, { lostGraceMs: 5 * S, guestSteps: steps, maxReconnects: 6 });
    // B's first guest runs from about 1 s to 31 s on h2. h2 is cut at 10 s; the grace runs out at 15 s and B reruns
    // on idle h3 (15-45 s); h2 answers again at 24 s (its reconnect backoff), so its guest is followed to its end at 31 s.
    f.clock.setTimeout(() => f.cut('h2', true), 10 * S);
    f.clock.setTimeout(() => f.setUp('h2'), 18 * S);
    const outcome = await f.clock.run(coordinate(input));
    expect(log(f)).toMatch(/h2 not back within --lost-grace \(5 s\): rerunning its 1 instance/);
    expect(log(f)).toMatch(/h2 back on the same boot after --lost-grace: following its written-off guest/);
    expect(guestRuns.sort()).toEqual(['A@h1', 'B@h2', 'B@h3']);
    expect(input.results.get('B')).toMatchObject({ host: 'h2', verdict: { kind: 'pass' } });
    expect(log(f)).toMatch(/B: its first guest \(attempt 1\) came back and ended before its rerun: it is judged/);
    expect(input.results.get('B')!.warnings).toEqual([expect.stringMatching(/^extra attempt 2 on h3 also ran to its end \(exit 0\); the first judged result counts; its console is kept as console.log.extra-h3-2$/)]);
    expect(outcome.ledger.filter((a) => a.instance === 'B').map((a) => [a.attempt, a.host, a.outcome])).toEqual([[1, 'h2', 'finished'], [2, 'h3', 'finished']]);
  });

  it('a host back with a new boot_id: "rebooted", its instances rerun at once, not after the grace', async () => {
    const { f, boots, steps } = detachedFarm(['h1', 1], ['h2', 1]);
    const input = f.input({ A: 1, B: 1 }, { lostGraceMs: 3600 * S, guestSteps: steps });
    f.clock.setTimeout(() => {
      f.cut('h2', true);
      boots.set('h2', 'boot-h2-2');
    }, 10 * S);
    f.clock.setTimeout(() => f.setUp('h2'), 12 * S);
    await f.clock.run(coordinate(input));
    expect(log(f)).toMatch(/h2 rebooted: boot_id boot-h2-1 is now boot-h2-2/);
    expect(log(f)).toMatch(/h2 requeued B \(attempt 2\)/);
    expect(input.results.get('B')!.verdict?.kind).toBe('pass');
    // Well before the hour of grace: rerun at once.
    expect(f.clock.now()).toBeLessThan(120 * S);
  });
});
