import { afterEach, describe, expect, it } from 'vitest';
import { expandConfigs, instanceIds, scenarioOfInstance } from '../../src/scenarios/configs-spec.js';
import { selectInstances } from '../../src/scenarios/instances.js';
import { loadScenarioLibrary } from '../../src/scenarios/library.js';
import { makeTree } from '../helpers/tmp-tree.js';

let cleanup: (() => void) | undefined;
afterEach(() => cleanup?.());

function library() {
  const tree = makeTree({
    CFLIST: 'TREE01\nTINY01\n',
    CFcommon: 'CONFIG_RCU_TORTURE_TEST=y\n',
    TREE01: 'CONFIG_SMP=y\nCONFIG_NR_CPUS=8\n',
    'TREE01.boot': 'maxcpus=4\n',
    TINY01: 'CONFIG_SMP=n\n#CHECK#CONFIG_TINY_RCU=y\n',
    'ver_functions.sh': '# not a scenario\n',
  });
  cleanup = tree.remove;
  return loadScenarioLibrary(tree.dir);
}

describe('loadScenarioLibrary', () => {
  it('lists scenarios, CFLIST and CFcommon, and reads .boot files', () => {
    const lib = library();
    expect(lib.available).toEqual(['TINY01', 'TREE01']);
    expect(lib.cflist).toEqual(['TREE01', 'TINY01']);
    expect(lib.cfcommon.map((s) => s.option)).toEqual(['CONFIG_RCU_TORTURE_TEST']);
    expect(lib.load('TREE01').bootArgs).toEqual(['maxcpus=4']);
    expect(lib.load('TINY01').checks[0]!.option).toBe('CONFIG_TINY_RCU');
  });
  it('refuses a missing directory with one line naming it', () => {
    expect(() => loadScenarioLibrary('/nonexistent/scen')).toThrow(
      'scenario directory "/nonexistent/scen" does not exist or is not a directory',
    );
  });
});

describe('expandConfigs', () => {
  it('expands names, N*NAME repeats and CFLIST', () => {
    const lib = library();
    expect(expandConfigs('TREE01 3*TINY01', lib)).toEqual(['TREE01', 'TINY01', 'TINY01', 'TINY01']);
    expect(expandConfigs('2*CFLIST', lib)).toEqual(['TREE01', 'TINY01', 'TREE01', 'TINY01']);
    expect(expandConfigs('CFLIST TINY01', lib)).toEqual(['TREE01', 'TINY01', 'TINY01']);
  });
  it('names an unknown scenario and lists the available ones', () => {
    expect(() => expandConfigs('TREE01 NOPE07', library())).toThrow(/unknown scenario "NOPE07" .*available: TINY01 TREE01$/);
  });
  it('rejects a zero or malformed repeat', () => {
    const lib = library();
    expect(() => expandConfigs('0*TINY01', lib)).toThrow('--configs entry "0*TINY01"');
    expect(() => expandConfigs('2*3*TINY01', lib)).toThrow('--configs entry "2*3*TINY01"');
    expect(() => expandConfigs('  ', lib)).toThrow('names no scenario');
  });
});

describe('instance ids', () => {
  it('numbers repeats from .2 as rcutorture does, and maps back', () => {
    expect(instanceIds(['A', 'B', 'A', 'A'])).toEqual(['A', 'B', 'A.2', 'A.3']);
    expect(scenarioOfInstance('TINY01.3')).toBe('TINY01');
    expect(scenarioOfInstance('SRCU-T')).toBe('SRCU-T');
  });
  it('selectInstances gives each its CPU demand', () => {
    const got = selectInstances({ library: library(), configs: 'CFLIST 2*TINY01', kconfig: [], bootArgs: [], fallbackCpus: 2 });
    expect(got.map((i) => [i.id, i.cpus])).toEqual([
      ['TREE01', 4],
      ['TINY01', 1],
      ['TINY01.2', 1],
      ['TINY01.3', 1],
    ]);
  });
});
