import { describe, expect, it } from 'vitest';
import { bundledScenarioDir, loadScenarioLibrary } from '../../src/scenarios/library.js';
import { selectInstances } from '../../src/scenarios/instances.js';
import { SUITES } from '../../src/scenarios/suites.js';

describe('the scenarios kvm-farm ships', () => {
  it.each(['rcu', 'lock', 'scf'])('%s: every scenario parses, has a small tinyconfig variant, CFLIST loads', (name) => {
    const library = loadScenarioLibrary(bundledScenarioDir(SUITES[name]!));
    expect(library.cflist.length).toBeGreaterThan(0);
    for (const scenario of library.available) {
      const loaded = library.load(scenario);
      if (scenario.endsWith('-SMALL')) {
        expect(loaded.base).toBe('tinyconfig');
      } else {
        expect(library.available).toContain(`${scenario}-SMALL`);
      }
    }
    expect(library.cfcommon.some((s) => s.option === SUITES[name]!.kconfigOption && s.value === 'y')).toBe(true);
  });
  it('rcu has tiny, SRCU, two tree SMP sizes and a busted scenario', () => {
    const library = loadScenarioLibrary(bundledScenarioDir(SUITES.rcu!));
    const instances = selectInstances({ library, configs: 'UP01 SRCU01 TREE02C TREE04C BUSTED01', kconfig: [], bootArgs: [], fallbackCpus: 2 });
    expect(instances.map((i) => i.cpus)).toEqual([1, 2, 2, 4, 2]);
    expect(library.load('BUSTED01').bootArgs).toContain('rcutorture.torture_type=busted');
    expect(library.load('SRCU01').bootArgs).toContain('rcutorture.torture_type=srcu');
  });
});
