import { describe, expect, it } from 'vitest';
import { WorkQueue } from '../../src/farm/work-queue.js';
import type { ScenarioInstance } from '../../src/scenarios/types.js';

function inst(id: string, cpus: number): ScenarioInstance {
  return { id, cpus, scenario: { name: id.split('.')[0]! } } as unknown as ScenarioInstance;
}

const ids = (xs: ScenarioInstance[]) => xs.map((x) => x.id);

describe('WorkQueue', () => {
  it('packs each taker\'s batch first-fit decreasing by its own CPU count', () => {
    const q = new WorkQueue([inst('UP', 1), inst('UP.2', 1), inst('TREE', 2), inst('BIG', 4), inst('UP.3', 1)]);
    expect(ids(q.take({ host: 'h2', cpus: 2, widestCpus: 4, othersUsable: true }))).toEqual(['TREE']);
    expect(ids(q.take({ host: 'h4', cpus: 4, widestCpus: 4, othersUsable: true }))).toEqual(['BIG']);
    expect(ids(q.take({ host: 'h2', cpus: 2, widestCpus: 4, othersUsable: true }))).toEqual(['UP', 'UP.2']);
    expect(q.ids()).toEqual(['UP.3']);
    expect(q.cpus).toBe(1);
  });

  it('keeps an instance wider than the taker for a wider host, but gives it to the widest when none is wider', () => {
    const q = new WorkQueue([inst('TREE', 2)]);
    expect(q.take({ host: 'h1', cpus: 1, widestCpus: 2, othersUsable: true })).toEqual([]);
    expect(ids(q.take({ host: 'h1', cpus: 1, widestCpus: 1, othersUsable: false }))).toEqual(['TREE']);
    expect(q.size).toBe(0);
  });

  it('gives an instance lost on a host to another host while one is usable, else back to that host', () => {
    const q = new WorkQueue();
    q.add(inst('UP', 1), ['h1']);
    expect(q.take({ host: 'h1', cpus: 2, widestCpus: 2, othersUsable: true })).toEqual([]);
    expect(ids(q.take({ host: 'h1', cpus: 2, widestCpus: 2, othersUsable: false }))).toEqual(['UP']);
    q.add(inst('UP.2', 1), ['h1']);
    expect(ids(q.drain().map((p) => p.instance))).toEqual(['UP.2']);
    expect(q.size).toBe(0);
  });
});
