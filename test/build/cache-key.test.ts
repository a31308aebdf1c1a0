import { describe, expect, it } from 'vitest';
import { buildDirKey, cacheKey, configMemoKey, type CacheKeyInput } from '../../src/build/cache-key.js';

const base: CacheKeyInput = {
  treeIdentity: 'tree-1',
  dotConfig: 'CONFIG_A=y\n',
  makeArgs: [],
  compiler: 'gcc (Debian 12.2.0-14+deb12u1) 12.2.0',
  arch: 'x86',
  initramfsDigest: 'cpio-1',
};

describe('cacheKey', () => {
  it('is a stable sha256 of its inputs', () => {
    expect(cacheKey(base)).toMatch(/^[0-9a-f]{64}$/);
    expect(cacheKey({ ...base })).toBe(cacheKey(base));
  });

  it('changes with every input', () => {
    const variants: Partial<CacheKeyInput>[] = [
      { treeIdentity: 'tree-2' },
      { dotConfig: 'CONFIG_A=n\n' },
      { makeArgs: ['LLVM=1'] },
      { compiler: 'gcc 13' },
      { arch: 'arm64' },
      { initramfsDigest: 'cpio-2' },
    ];
    const keys = new Set(variants.map((v) => cacheKey({ ...base, ...v })));
    keys.add(cacheKey(base));
    expect(keys.size).toBe(variants.length + 1);
  });

  it('cannot be fooled by moving text between fields', () => {
    expect(cacheKey({ ...base, treeIdentity: 'ab', dotConfig: 'c' })).not.toBe(cacheKey({ ...base, treeIdentity: 'a', dotConfig: 'bc' }));
    expect(cacheKey({ ...base, makeArgs: ['A=1 B=2'] })).not.toBe(cacheKey({ ...base, makeArgs: ['A=1', 'B=2'] }));
  });

  it('differs from the other keys for the same text', () => {
    const memo = configMemoKey({ treeIdentity: 't', defconfig: 'd', fragment: 'f', makeArgs: [], compiler: 'c', arch: 'x86' });
    expect(memo).not.toBe(buildDirKey('t', 'd', [], 'x86'));
  });
});
