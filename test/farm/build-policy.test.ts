import { describe, expect, it } from 'vitest';
import { buildHereAfterLoss, chooseBuilders, nextBuildFor, nextJobFor, type BuilderView } from '../../src/farm/build-policy.js';
import { readBuildProbe } from '../../src/farm/probe-build.js';

const GCC = 'gcc (Debian 12.2.0-14) 12.2.0';
const host = (name: string, cpus: number, over: Partial<BuilderView> = {}): BuilderView => ({ name, cpus, canBuild: true, compiler: GCC, ...over });

describe('chooseBuilders', () => {
  it('builds on every able host with this machine\'s compiler, widest first; the rest only run guests, each with its reason', () => {
    const choice = chooseBuilders(undefined, [
      host('small', 2), host('big', 16), host('mid', 8),
      host('noflex', 8, { canBuild: false, why: 'install flex' }),
      host('clang', 32, { compiler: 'Debian clang version 14.0.6' }),
    ], GCC);
    expect(choice.buildOn).toBe('hosts');
    expect(choice.builders).toEqual(['big', 'mid', 'small']);
    expect(choice.guestsOnly).toEqual([
      { name: 'noflex', why: 'install flex' },
      { name: 'clang', why: `its compiler "Debian clang version 14.0.6" is not this machine's "${GCC}"` },
    ]);
  });
  it('builds here when asked to, or when no host can build', () => {
    expect(chooseBuilders('here', [host('a', 4)], GCC)).toMatchObject({ buildOn: 'here', builders: [], guestsOnly: [{ name: 'a', why: '--build-on here' }] });
    expect(chooseBuilders('hosts', [host('a', 4, { canBuild: false, why: 'install make' })], GCC)).toMatchObject({ buildOn: 'here', builders: [] });
    expect(chooseBuilders(undefined, [], GCC).buildOn).toBe('here');
  });
});

describe('nextBuildFor', () => {
  const pending = [{ key: 'k1', avoidHosts: ['a'] }, { key: 'k2', avoidHosts: [] }];
  it('takes the first build in order, passing over one lost on this host', () => {
    expect(nextBuildFor('b', pending, ['a', 'b'])?.key).toBe('k1');
    expect(nextBuildFor('a', pending, ['a', 'b'])?.key).toBe('k2');
  });
  it('takes a build lost here when every live builder lost it, and nothing when nothing waits', () => {
    expect(nextBuildFor('a', [{ key: 'k1', avoidHosts: ['a'] }], ['a'])?.key).toBe('k1');
    expect(nextBuildFor('a', [{ key: 'k1', avoidHosts: ['a'] }], ['a', 'b'])).toBeUndefined();
    expect(nextBuildFor('a', [], ['a'])).toBeUndefined();
  });
  it('builds here once no builder is left or the build was lost too often', () => {
    expect(buildHereAfterLoss(1, 0, 3)).toBe(true);
    expect(buildHereAfterLoss(3, 2, 3)).toBe(true);
    expect(buildHereAfterLoss(1, 2, 3)).toBe(false);
  });
});

describe('readBuildProbe', () => {
  it('reads an able host', () => {
    expect(readBuildProbe(`compiler=${GCC}\ncpus=16\nccache=yes\nfree=104857600\n`, 0)).toEqual({ canBuild: true, why: '', compiler: GCC, cpus: 16, freeBytes: 100 * 1024 ** 3, ccache: true });
  });
  it('names the packages to install and a full disk', () => {
    const p = readBuildProbe('missing=flex\nmissing=gelf.h\ncompiler=\ncpus=4\nfree=1024\n', 0);
    expect(p.canBuild).toBe(false);
    expect(p.why).toBe('install flex, libelf-dev (gelf.h); only 0.0 GB free, a build needs 3 GB');
  });
});

describe('nextJobFor: builds and batches on one host', () => {
  const pending = [{ key: 'k1', avoidHosts: [] }];
  it('a builder builds before it runs guests; with nothing to build it takes a batch', () => {
    expect(nextJobFor({ name: 'a', builder: true, building: false }, pending, ['a'])).toEqual({ kind: 'build', build: pending[0] });
    expect(nextJobFor({ name: 'a', builder: true, building: false }, [], ['a'])).toEqual({ kind: 'batch' });
  });
  it('a building host takes nothing else; a host that cannot build always takes batches', () => {
    expect(nextJobFor({ name: 'a', builder: true, building: true }, pending, ['a'])).toEqual({ kind: 'busy' });
    expect(nextJobFor({ name: 'g', builder: false, building: false }, pending, ['a'])).toEqual({ kind: 'batch' });
  });
  it('a build lost on this host waits for another builder; the host runs guests meanwhile', () => {
    expect(nextJobFor({ name: 'a', builder: true, building: false }, [{ key: 'k1', avoidHosts: ['a'] }], ['a', 'b'])).toEqual({ kind: 'batch' });
  });
});
