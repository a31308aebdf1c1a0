import { afterEach, describe, expect, it } from 'vitest';
import { coordinate, type CoordinateInput } from '../../src/farm/coordinator.js';
import type { InfraFault } from '../../src/qemu/types.js';
import { FakeFarm } from './fake-farm.js';

const farms: FakeFarm[] = [];
afterEach(() => farms.splice(0).forEach((f) => f.remove()));

/** A farm whose guests meet `fault(instance, host, nth attempt there)` when it returns one. */
function faulty(hosts: [string, number][], instances: Record<string, number>, fault: (instance: string, host: string) => InfraFault | null, over: Partial<CoordinateInput> = {}): { f: FakeFarm; input: CoordinateInput } {
  const f = new FakeFarm(hosts.map(([name, cpus]) => ({ name, cpus })));
  farms.push(f);
  const input = f.input(instances, over);
  const steps = input.guestSteps;
  input.guestSteps = {
    ...steps,
    run: async (guest) => {
      const ran = await steps.run(guest);
      const infraFault = fault(guest.instance, guest.host.name);
      return infraFault ? { ...ran, infraFault } : ran;
    },
  };
  return { f, input };
}

const where = (input: CoordinateInput): Record<string, string> =>
  Object.fromEntries([...input.results].map(([id, r]) => [id, `${r.verdict?.kind ?? 'none'}@${r.host ?? '-'}`]));

describe('the scheduler after a fault of a host', () => {
  it('qemu killed on h2: never judged, rerun on h1; h2 keeps taking work', async () => {
    let killed = false;
    const { f, input } = faulty([['h1', 1], ['h2', 1]], { A: 1, B: 1, C: 1 }, (id, host) => {
      if (host !== 'h2' || killed) return null;
      killed = true;
      return { kind: 'qemu-killed', detail: `h2: qemu was killed by SIGKILL (${id})` };
    });
    const outcome = await f.clock.run(coordinate(input));
    expect(Object.values(where(input)).every((w) => w.startsWith('pass@'))).toBe(true);
    const faulted = [...input.results.values()].find((r) => r.infraFaults)!;
    expect(faulted.infraFaults).toEqual([{ host: 'h2', attempt: 1, kind: 'qemu-killed', detail: expect.stringContaining('h2: qemu was killed') }]);
    expect(faulted.host).toBe('h1');
    expect(outcome.ledger.filter((a) => a.instance === faulted.instance).map((a) => `${a.host}:${a.outcome}`)).toEqual(['h2:infra', 'h1:finished']);
    expect(outcome.members[1]!.report.benched).toBeUndefined();
  });

  it('a full disk on h2 benches it: everything after runs on h1, and the run still ends', async () => {
    const { f, input } = faulty([['h1', 1], ['h2', 1]], { A: 1, B: 1, C: 1, D: 1 }, (_id, host) => (host === 'h2' ? { kind: 'disk-full', detail: 'h2: 0 KiB free' } : null));
    const outcome = await f.clock.run(coordinate(input));
    expect(Object.values(where(input))).toEqual(['pass@h1', 'pass@h1', 'pass@h1', 'pass@h1']);
    // h2 may have taken its next batch in the moment between qemu's end and the fault being known; never more.
    expect(outcome.hostBatches.get('h2')!.length).toBeLessThanOrEqual(2);
    expect(f.spawns.filter((s) => s.host === 'h2').length).toBeLessThanOrEqual(2);
    expect(outcome.members[1]!.report.benched).toBe('disk-full: h2: 0 KiB free');
  });

  it('--retries used up: infra-error naming the fault, never a kernel verdict', async () => {
    const { f, input } = faulty([['h1', 1], ['h2', 1]], { A: 1 }, (_id, host) => ({ kind: 'qemu-crashed', detail: `${host}: qemu ended with SIGSEGV` }), { retries: 1 });
    await f.clock.run(coordinate(input));
    const a = input.results.get('A')!;
    expect(a.verdict).toMatchObject({ kind: 'infra-error', reasons: [expect.stringMatching(/^qemu-crashed: h\d: qemu ended with SIGSEGV$/), expect.stringMatching(/^2 attempts failed on the hosts: h\d \(attempt 1\), h\d \(attempt 2\); --retries 1 used up/)] });
    expect(a.infraFaults!.map((x) => x.host).sort()).toEqual(['h1', 'h2']);
  });

  it('the only host benched: what is left is not run, and the run ends instead of waiting', async () => {
    const { f, input } = faulty([['h1', 1]], { A: 1, B: 1 }, () => ({ kind: 'qemu-missing', detail: 'h1: qemu could not be run: not found' }));
    await f.clock.run(coordinate(input));
    for (const r of input.results.values()) {
      expect(r.verdict?.kind).toBe('infra-error');
      expect(r.verdict?.reasons.join(' ')).toMatch(/qemu-missing/);
    }
  });
});
