import { describe, expect, it } from 'vitest';
import { firstFitDecreasing, packBatches } from '../../src/plan/pack.js';
import { planRun } from '../../src/plan/plan.js';
import type { ScenarioInstance } from '../../src/scenarios/types.js';

function inst(id: string, cpus: number): ScenarioInstance {
  return { id, cpus, scenario: { name: id, dir: '/x', settings: [], checks: [], bootArgs: [] } };
}
const ids = (batches: { instances: ScenarioInstance[] }[]) => batches.map((b) => b.instances.map((i) => i.id));

/** kvm.sh's awk packing, transcribed literally, as the yardstick. */
function kvmShBatchCount(cpus: number[], ncpus: number): number {
  const order = cpus.map((c, i) => ({ c, i })).sort((a, b) => b.c - a.c);
  const done: number[] = order.map(() => 0);
  let batch = 0;
  let nc = -1;
  while (nc !== ncpus) {
    batch++;
    nc = ncpus;
    for (let i = 0; i < order.length; i++) {
      if (done[i]) continue;
      if (nc >= order[i]!.c || nc === ncpus) {
        done[i] = batch;
        nc -= order[i]!.c;
        if (nc <= 0) break;
      }
    }
  }
  return batch - 1;
}

describe('packBatches', () => {
  it('fills batches largest first', () => {
    const batches = packBatches([inst('A', 1), inst('B', 8), inst('C', 4), inst('D', 4), inst('E', 2)], 8);
    expect(ids(batches)).toEqual([['B'], ['C', 'D'], ['E', 'A']]);
    expect(batches.map((b) => b.cpus)).toEqual([8, 8, 3]);
    expect(batches.every((b) => !b.overflow)).toBe(true);
  });
  it('runs an instance wider than the machine alone, flagged overflow', () => {
    const batches = packBatches([inst('BIG', 16), inst('S', 1), inst('T', 1)], 8);
    expect(ids(batches)).toEqual([['BIG'], ['S', 'T']]);
    expect(batches.map((b) => b.overflow)).toEqual([true, false]);
  });
  it('finds a tighter packing than first-fit (kvm.sh) when one exists', () => {
    const items = [5, 4, 3, 3, 3, 2].map((c, i) => inst(`X${i}`, c));
    expect(firstFitDecreasing(items, 10).length).toBe(3);
    const batches = packBatches(items, 10);
    expect(batches.length).toBe(2);
    expect(batches.map((b) => b.cpus)).toEqual([10, 10]);
  });
  it('never needs more batches than kvm.sh on random inputs', () => {
    let seed = 42;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let round = 0; round < 500; round++) {
      const machine = 1 + rand(64);
      const cpus = Array.from({ length: 1 + rand(40) }, () => 1 + rand(Math.max(1, machine + 4)));
      const ours = packBatches(cpus.map((c, i) => inst(`S${i}`, c)), machine).length;
      expect(ours).toBeLessThanOrEqual(kvmShBatchCount(cpus, machine));
    }
  });
  it('refuses a machine of zero CPUs', () => {
    expect(() => packBatches([inst('A', 1)], 0)).toThrow('cannot pack into 0 CPUs');
  });
});

describe('planRun', () => {
  it('packs each machine by its own CPU count and places every instance once', () => {
    const instances = [inst('A', 4), inst('B', 4), inst('C', 2), inst('D', 1), inst('E', 1), inst('F', 2)];
    const plan = planRun(instances, [
      { name: 'big', cpus: 8 },
      { name: 'small', cpus: 2 },
    ]);
    const placed = plan.machines.flatMap((m) => m.batches.flatMap((b) => b.instances.map((i) => i.id))).sort();
    expect(placed).toEqual(['A', 'B', 'C', 'D', 'E', 'F']);
    for (const m of plan.machines) for (const b of m.batches) expect(b.cpus).toBeLessThanOrEqual(m.machine.cpus);
    expect(plan.machines[0]!.batches[0]!.instances.map((i) => i.id)).toContain('A');
  });
});
