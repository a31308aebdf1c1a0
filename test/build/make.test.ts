import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveToolchain, runMake } from '../../src/build/make.js';

const savedPath = process.env.PATH;
afterEach(() => {
  process.env.PATH = savedPath;
});

describe('resolveToolchain', () => {
  it('wraps CC in ccache for make but keeps the user arguments for the cache key', async () => {
    const tc = await resolveToolchain(['V=1'], 'on');
    expect(tc.keyArgs).toEqual(['V=1']);
    expect(tc.makeArgs).toEqual(['V=1', 'CC=ccache gcc']);
    expect(tc.compiler).toMatch(/^gcc /);
    expect(tc.arch).toBe(process.arch === 'x64' ? 'x86' : expect.any(String));
    expect(tc.bootImage).toBe(process.arch === 'x64' ? 'arch/x86/boot/bzImage' : expect.any(String));
    const off = await resolveToolchain(['V=1'], 'off');
    expect(off).toMatchObject({ ccache: false, makeArgs: ['V=1'], keyArgs: ['V=1'], compiler: tc.compiler });
  });

  it('wraps a CC given in the make arguments, and takes ARCH from them', async () => {
    const tc = await resolveToolchain(['CC=gcc', 'ARCH=x86_64'], 'on');
    expect(tc.makeArgs).toEqual(['ARCH=x86_64', 'CC=ccache gcc']);
    expect(tc.keyArgs).toEqual(['CC=gcc', 'ARCH=x86_64']);
    expect(tc.arch).toBe('x86_64');
  });

  it('fails for ccache on when ccache is missing, and quietly goes without it for auto', async () => {
    const bin = mkdtempSync(path.join(os.tmpdir(), 'kvmfarm-bin-'));
    try {
      symlinkSync('/usr/bin/gcc', path.join(bin, 'gcc'));
      process.env.PATH = bin;
      await expect(resolveToolchain([], 'on')).rejects.toMatchObject({ code: 'KVMFARM_BUILD_SETUP', message: expect.stringContaining('apt-get install ccache') });
      await expect(resolveToolchain([], 'auto')).resolves.toMatchObject({ ccache: false, makeArgs: [] });
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });

  it('names a compiler that does not run', async () => {
    await expect(resolveToolchain(['CC=kvmfarm-no-such-cc'], 'off')).rejects.toMatchObject({ code: 'KVMFARM_BUILD_SETUP', message: expect.stringContaining('kvmfarm-no-such-cc') });
  });
});

describe('runMake', () => {
  it('keeps stdout and stderr in make\'s order in one log, passes O=, and returns the exit code', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kvmfarm-make-'));
    try {
      const steps = Array.from({ length: 20 }, (_, i) => (i % 2 ? `\t@echo out${i}` : `\t@echo err${i} >&2`)).join('\n');
      writeFileSync(path.join(dir, 'Makefile'), `all:\n\t@echo "O is $(O)"\n${steps}\n\t@exit 3\n`);
      const logFile = path.join(dir, 'Make.out');
      const run = await runMake({ kernelDir: dir, buildDir: '/some/objdir', args: [], logFile });
      expect(run.exitCode).toBe(2);
      const lines = readFileSync(logFile, 'utf8').split('\n').filter((l) => /^(O is|out|err)/.test(l));
      expect(lines).toEqual(['O is /some/objdir', ...Array.from({ length: 20 }, (_, i) => (i % 2 ? `out${i}` : `err${i}`))]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
