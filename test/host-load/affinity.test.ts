import { describe, expect, it } from 'vitest';
import { allowedCpus, formatCpuList, parseCpuList, pinBatch } from '../../src/host-load/affinity.js';

describe('CPU lists', () => {
  it('reads and writes the kernel form', () => {
    expect(parseCpuList('0-3,6,8-9')).toEqual([0, 1, 2, 3, 6, 8, 9]);
    expect(parseCpuList('5\n')).toEqual([5]);
    expect(formatCpuList([3, 0, 1, 2, 6, 8, 9])).toBe('0-3,6,8-9');
    expect(formatCpuList([4])).toBe('4');
    expect(() => parseCpuList('0-x')).toThrow(/not a CPU list/);
  });

  it("takes this process's CPUs from Cpus_allowed_list", () => {
    expect(allowedCpus('Name:\tnode\nCpus_allowed:\tf\nCpus_allowed_list:\t0-1,4\n')).toEqual([0, 1, 4]);
    expect(allowedCpus().length).toBeGreaterThan(0);
  });
});

describe('pinning the guests of one batch', () => {
  it('gives each guest its own consecutive CPUs, in batch order', () => {
    const p = pinBatch([{ id: 'A', cpus: 1 }, { id: 'B', cpus: 1 }], [0, 1]);
    expect(p).toEqual({ pinned: true, lists: new Map([['A', '0'], ['B', '1']]) });
    const q = pinBatch([{ id: 'T', cpus: 3 }, { id: 'U', cpus: 1 }], [2, 3, 4, 5, 6]);
    expect(q.pinned && [...q.lists.values()]).toEqual(['2-4', '5']);
  });

  it('uses only the CPUs it may, skipping the ones it may not', () => {
    const p = pinBatch([{ id: 'A', cpus: 2 }, { id: 'B', cpus: 2 }], [0, 2, 3, 7]);
    expect(p.pinned && [...p.lists.values()]).toEqual(['0,2', '3,7']);
  });

  it('leaves a batch that does not fit unpinned, and says why', () => {
    const p = pinBatch([{ id: 'A', cpus: 2 }, { id: 'B', cpus: 1 }], [0, 1]);
    expect(p).toEqual({ pinned: false, reason: 'the batch needs 3 CPUs and this process may use 2' });
  });
});
