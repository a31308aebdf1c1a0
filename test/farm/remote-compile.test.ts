import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CompileContext } from '../../src/build/compile.js';
import { cacheLayout, readEntry } from '../../src/build/store.js';
import { compileOnHost } from '../../src/farm/remote-compile.js';
import { LocalHost } from '../../src/transport/index.js';

/**
 * A make that behaves as kbuild does for an O= build, told by MAKE_MODE what to do:
 * `ok` leaves the files a build leaves; `fail` prints compiler errors and exits 2;
 * `drift` succeeds but rewrites a line of .config (a host whose toolchain differs).
 */
const FAKE_MAKE = `#!/bin/sh
o=$(pwd)
echo "  CC      init/main.o"
echo "make was given: $*"
case "$MAKE_MODE" in
fail) echo "init/main.c:12:1: error: expected ';' before '}' token"; echo "make[2]: *** [scripts/Makefile.build:250: init/main.o] Error 1"; exit 2 ;;
drift) sed -i 's/^CONFIG_HZ=.*/CONFIG_HZ=250/' "$o/.config" ;;
esac
mkdir -p "$o/arch/x86/boot" "$o/include/config"
echo "bzImage of $(grep -c . "$o/.config") lines" > "$o/arch/x86/boot/bzImage"
echo vmlinux > "$o/vmlinux"; echo map > "$o/System.map"; echo 6.1.0-fake > "$o/include/config/kernel.release"
echo "  BUILD   arch/x86/boot/bzImage"
`;

const dirs: string[] = [];
const tmp = (): string => {
  const d = mkdtempSync(path.join(os.tmpdir(), 'kvmfarm-rcompile-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  delete process.env.MAKE_MODE;
});
let savedPath: string | undefined;
beforeAll(() => {
  const bin = tmp();
  writeFileSync(path.join(bin, 'make'), FAKE_MAKE);
  chmodSync(path.join(bin, 'make'), 0o755);
  savedPath = process.env.PATH;
  process.env.PATH = `${bin}:${process.env.PATH}`;
});
afterAll(() => {
  process.env.PATH = savedPath;
  dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true }));
});

function setUp() {
  const cache = tmp();
  const cpio = path.join(cache, 'init.cpio');
  writeFileSync(cpio, 'cpio bytes');
  const dotConfig = `CONFIG_HZ=1000\nCONFIG_INITRAMFS_SOURCE="${cpio}"\nCONFIG_RCU_TORTURE_TEST=y\n`;
  const context: CompileContext = {
    tree: { dir: tmp(), git: false }, layout: cacheLayout(cache), jobs: 1, trustMake: false,
    toolchain: { arch: 'x86', compiler: 'gcc 12', keyArgs: ['LLVM=0'], makeArgs: ['LLVM=0', 'CC=ccache gcc'], ccache: true, bootImage: 'arch/x86/boot/bzImage' },
  };
  const remoteDir = path.join(tmp(), 'remote');
  return { cpio, dotConfig, context, remoteDir, compile: (ccache = false) => compileOnHost({ host: new LocalHost(), remoteDir, tree: context.tree.dir, key: 'k'.repeat(64), dotConfig, context, jobs: 3, timeoutMs: 60_000, ccache }) };
}

describe('compileOnHost (LocalHost and a fake make: the script ssh runs)', () => {
  it('builds the .config configured here, brings the kernel into the cache and the host keeps its boot image', async () => {
    const s = setUp();
    const outcome = await s.compile();
    expect(outcome.ok).toBe(true);
    const meta = await readEntry(s.context.layout, 'k'.repeat(64));
    expect(meta).toMatchObject({ kernelVersion: '6.1.0-fake', bootImage: 'bzImage' });
    const entry = path.join(s.context.layout.kernels, 'k'.repeat(64));
    // The cached .config is the local one: the host's initramfs path is mapped back.
    expect(readFileSync(path.join(entry, '.config'), 'utf8')).toBe(s.dotConfig);
    expect(readFileSync(path.join(entry, 'Make.out'), 'utf8')).toContain('BUILD   arch/x86/boot/bzImage');
    expect(readFileSync(path.join(entry, 'bzImage'), 'utf8')).toBe('bzImage of 3 lines\n');
    const hash = createHash('sha256').update('bzImage of 3 lines\n').digest('hex');
    expect(readFileSync(path.join(s.remoteDir, 'kernels', hash), 'utf8')).toBe('bzImage of 3 lines\n');
    expect(existsSync(path.join(s.remoteDir, 'builds', 'k'.repeat(32))), 'the build directory is removed').toBe(false);
  });

  it('judges a failed make by kvm-run\'s rules and quotes make\'s lines', async () => {
    process.env.MAKE_MODE = 'fail';
    const s = setUp();
    const outcome = await s.compile();
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.reason).toBe('kernel build failed: make on localhost exited with 2');
    expect(outcome.quoted.join('\n')).toContain("init/main.c:12:1: error: expected ';'");
    expect(readFileSync(outcome.makeOut!, 'utf8')).toContain('Error 1');
    expect(existsSync(path.join(s.context.layout.kernels, 'k'.repeat(64)))).toBe(false);
  });

  it('refuses a kernel whose .config came out different there, naming the line', async () => {
    process.env.MAKE_MODE = 'drift';
    const s = setUp();
    const outcome = await s.compile();
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.reason).toContain('line 1: "CONFIG_HZ=1000" here, "CONFIG_HZ=250" there');
    expect(existsSync(path.join(s.context.layout.kernels, 'k'.repeat(64)))).toBe(false);
  });

  it('goes through ccache there only when the host has it and the build here uses it', async () => {
    const without = setUp();
    expect((await without.compile(false)).ok).toBe(true);
    const said = (s: ReturnType<typeof setUp>) => readFileSync(path.join(s.context.layout.root, 'build', 'kernels', 'k'.repeat(64), 'Make.out'), 'utf8').split('\n').find((l) => l.startsWith('make was given'));
    expect(said(without)).toMatch(/ -j3 LLVM=0$/);
    const through = setUp();
    expect((await through.compile(true)).ok).toBe(true);
    expect(said(through)).toMatch(/ -j3 LLVM=0 CC=ccache gcc$/);
  });
});
