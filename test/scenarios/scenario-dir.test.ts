import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { bundledScenarioDir } from '../../src/scenarios/library.js';
import { chooseScenarioDir, describeScenarioDir } from '../../src/scenarios/scenario-dir.js';
import { SUITES } from '../../src/scenarios/suites.js';
import { makeTree } from '../helpers/tmp-tree.js';

const rcu = SUITES.rcu!;
let cleanup: (() => void) | undefined;
afterEach(() => cleanup?.());

function treeWith(suites: string[]) {
  const files: Record<string, string> = { Makefile: '' };
  for (const s of suites) files[`tools/testing/selftests/rcutorture/configs/${s}/CFLIST`] = 'TINY01\n';
  const tree = makeTree(files);
  cleanup = tree.remove;
  return tree.dir;
}

describe('which scenario directory a run uses', () => {
  it("takes the kernel tree's own configs/<suite> when --scenarios is not given", () => {
    const tree = treeWith(['rcu', 'lock']);
    expect(chooseScenarioDir({ suite: rcu, kernelDir: tree })).toEqual({ dir: path.join(tree, 'tools/testing/selftests/rcutorture/configs/rcu'), source: 'tree' });
    expect(chooseScenarioDir({ suite: SUITES.lock!, kernelDir: tree }).source).toBe('tree');
  });
  it('falls back to the bundled scenarios when the tree has none for the suite', () => {
    const tree = treeWith(['rcu']);
    expect(chooseScenarioDir({ suite: SUITES.scf!, kernelDir: tree })).toEqual({ dir: bundledScenarioDir(SUITES.scf!), source: 'bundled' });
    expect(chooseScenarioDir({ suite: rcu })).toEqual({ dir: bundledScenarioDir(rcu), source: 'bundled' });
  });
  it('lets --scenarios win: a directory, or "bundled" by name', () => {
    const tree = treeWith(['rcu']);
    expect(chooseScenarioDir({ suite: rcu, kernelDir: tree, scenariosDir: 'bundled' })).toEqual({ dir: bundledScenarioDir(rcu), source: 'bundled' });
    expect(chooseScenarioDir({ suite: rcu, kernelDir: tree, scenariosDir: '/x/y' })).toEqual({ dir: '/x/y', source: 'given' });
  });
  it('says in one line which directory and why', () => {
    expect(describeScenarioDir({ dir: '/t/configs/rcu', source: 'tree' })).toBe("Scenario directory: /t/configs/rcu (the kernel tree's own; --scenarios bundled for kvm-farm's)");
    expect(describeScenarioDir({ dir: '/b', source: 'bundled' })).toMatch(/bundled/);
  });
});
