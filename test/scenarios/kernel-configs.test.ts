import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadScenarioLibrary } from '../../src/scenarios/library.js';
import { selectInstances } from '../../src/scenarios/instances.js';
import { requireReal } from '../helpers/require.js';

const tree = requireReal('kernel-tree').kernelTree;

describe("the kernel's own rcutorture scenario directories", () => {
  it.each(['rcu', 'lock', 'scf', 'rcuscale', 'refscale'])('configs/%s loads unchanged, every scenario', (suite) => {
    const library = loadScenarioLibrary(path.join(tree, 'tools/testing/selftests/rcutorture/configs', suite));
    expect(library.cflist.length).toBeGreaterThan(0);
    for (const name of library.available) library.load(name);
    const instances = selectInstances({ library, configs: 'CFLIST', kconfig: [], bootArgs: [], fallbackCpus: 2 });
    expect(instances.length).toBe(library.cflist.length);
  });
  it('computes TREE01 and SRCU-T as rcutorture does', () => {
    const library = loadScenarioLibrary(path.join(tree, 'tools/testing/selftests/rcutorture/configs/rcu'));
    const cpus = Object.fromEntries(
      selectInstances({ library, configs: 'TREE01 SRCU-T TREE04 TREE10', kconfig: [], bootArgs: [], fallbackCpus: 64 }).map((i) => [i.id, i.cpus]),
    );
    expect(cpus).toEqual({ TREE01: 8, 'SRCU-T': 1, TREE04: 8, TREE10: 56 });
  });
});
