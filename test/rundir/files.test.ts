import { afterEach, describe, expect, it } from 'vitest';
import { createRunDir } from '../../src/rundir/create.js';
import { formatBatchesFile, formatScenariosFile, parseScenariosFile, readRunDir } from '../../src/rundir/files.js';
import { datestamp } from '../../src/rundir/layout.js';
import type { Batch } from '../../src/plan/types.js';
import { makeTree } from '../helpers/tmp-tree.js';

let cleanup: (() => void) | undefined;
afterEach(() => cleanup?.());

const scen = { name: 'X', dir: '/x', settings: [], checks: [], bootArgs: [] };
const batches: Batch[] = [
  { number: 1, cpus: 8, overflow: false, instances: [{ id: 'TREE01', cpus: 8, scenario: scen }] },
  { number: 2, cpus: 2, overflow: false, instances: [{ id: 'TINY01', cpus: 1, scenario: scen }, { id: 'TINY01.2', cpus: 1, scenario: scen }] },
];

describe('run directory files', () => {
  it('writes scenarios and batches as kvm.sh does, and reads scenarios back', () => {
    const text = formatScenariosFile(batches);
    expect(text).toBe('1.  TREE01\n2.  TINY01 TINY01.2\n');
    expect(parseScenariosFile(text)).toEqual([['TREE01'], ['TINY01', 'TINY01.2']]);
    expect(formatBatchesFile(batches, 8)).toBe('1 TREE01 8\n2 TINY01 1\n2 TINY01.2 1\n# cpus=8\n');
  });
  it('names runs by date, sortably', () => {
    expect(datestamp(new Date(2026, 10, 21, 9, 5, 7))).toBe('2026.11.21-09.05.07');
  });
  it('never reuses an existing run directory', () => {
    const tree = makeTree({ 'res/2026.01.01-00.00.00/log': 'old\n' });
    cleanup = tree.remove;
    expect(() => createRunDir({ results: `${tree.dir}/res`, name: '2026.01.01-00.00.00' })).toThrow(/already exists/);
    expect(createRunDir({ results: `${tree.dir}/res`, name: 'new' })).toBe(`${tree.dir}/res/new`);
    expect(() => createRunDir({ results: tree.dir, name: '../escape' })).toThrow('--datestamp "../escape"');
  });
  it('says clearly when a directory is not a run', () => {
    const tree = makeTree({ 'x/file': '' });
    cleanup = tree.remove;
    expect(() => readRunDir(`${tree.dir}/x`)).toThrow(/is not a run directory/);
    expect(() => readRunDir(`${tree.dir}/missing`)).toThrow(/does not exist/);
  });
});
