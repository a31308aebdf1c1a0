import { open } from 'node:fs/promises';
import os from 'node:os';
import { execa } from 'execa';
import { KvmFarmError } from '../util/errors.js';
import type { CcacheMode } from './types.js';

/** How make is called for every step of every build. */
export interface Toolchain {
  /** Kernel ARCH. */
  arch: string;
  /** First line of the compiler's `--version`. */
  compiler: string;
  /** The user's arguments: what the cache key sees. */
  keyArgs: string[];
  /** What make really gets: keyArgs with CC wrapped in ccache when it is used. */
  makeArgs: string[];
  ccache: boolean;
  /** The boot image make leaves in the build directory, relative to it. */
  bootImage: string;
}

const HOST_ARCH: Record<string, string> = { x64: 'x86', arm64: 'arm64', ppc64: 'powerpc', riscv64: 'riscv', s390x: 's390' };
const BOOT_IMAGE: Record<string, string> = {
  x86: 'arch/x86/boot/bzImage',
  x86_64: 'arch/x86/boot/bzImage',
  i386: 'arch/x86/boot/bzImage',
  arm64: 'arch/arm64/boot/Image',
  riscv: 'arch/riscv/boot/Image',
};

function argValue(args: string[], name: string): string | undefined {
  const prefix = `${name}=`;
  const found = args.filter((a) => a.startsWith(prefix)).pop();
  return found?.slice(prefix.length);
}

/**
 * Works out the compiler, arch and make arguments. The compiler is CC from the make
 * arguments, else `${CROSS_COMPILE}gcc`; ccache, when used, becomes `CC=ccache <cc>`.
 */
export async function resolveToolchain(kmakeArgs: string[], mode: CcacheMode): Promise<Toolchain> {
  const cc = argValue(kmakeArgs, 'CC') ?? `${argValue(kmakeArgs, 'CROSS_COMPILE') ?? ''}gcc`;
  const ccWords = cc.split(/\s+/).filter((w) => w !== '');
  const version = await execa(ccWords[0]!, [...ccWords.slice(1), '--version'], { reject: false });
  if (version.exitCode !== 0) {
    throw new KvmFarmError('KVMFARM_BUILD_SETUP', `the compiler "${cc}" does not run (${version.shortMessage}): install it or set CC= in --kmake-arg`);
  }
  const compiler = version.stdout.split('\n')[0]!.trim();
  let ccache = false;
  if (mode !== 'off') {
    const probe = await execa('ccache', ['--version'], { reject: false });
    ccache = probe.exitCode === 0;
    if (!ccache && mode === 'on') {
      throw new KvmFarmError('KVMFARM_BUILD_SETUP', 'ccache is on but the ccache command is not installed: apt-get install ccache, or pass --ccache off');
    }
  }
  const withoutCc = kmakeArgs.filter((a) => !a.startsWith('CC='));
  const makeArgs = ccache ? [...withoutCc, `CC=ccache ${cc}`] : [...kmakeArgs];
  const arch = argValue(kmakeArgs, 'ARCH') ?? HOST_ARCH[os.arch()] ?? os.arch();
  return { arch, compiler, keyArgs: [...kmakeArgs], makeArgs, ccache, bootImage: BOOT_IMAGE[arch] ?? 'vmlinux' };
}

/** The failure reason of a build cut short by its abort signal, whichever step it was in. */
export const BUILD_INTERRUPTED = 'the build was interrupted';

/** How one make ended, success or not. */
export interface MakeRun {
  exitCode: number | undefined;
  /** Killed by the abort signal. */
  aborted: boolean;
  durationMs: number;
}

export interface RunMakeOptions {
  kernelDir: string;
  buildDir: string;
  /** Words after `make -C <tree> O=<dir>`. */
  args: string[];
  /** File that receives stdout and stderr through one descriptor, so their lines keep make's order. */
  logFile: string;
  /** Called about once a second with the latest kbuild progress line (`  CC      init/main.o`). */
  onProgress?: (line: string) => void;
  signal?: AbortSignal;
}

const PROGRESS = /^ {2}[A-Z][A-Z0-9_]* +\S/;

/** Runs make in `buildDir` for `kernelDir`, sending all output to `logFile`. Never throws for make's failure. */
export async function runMake(options: RunMakeOptions): Promise<MakeRun> {
  const started = Date.now();
  const log = await open(options.logFile, 'w');
  let timer: NodeJS.Timeout | undefined;
  let lastSent = '';
  const poll = async () => {
    const line = await latestProgressLine(options.logFile);
    if (line !== undefined && line !== lastSent) {
      lastSent = line;
      options.onProgress?.(line);
    }
  };
  try {
    if (options.onProgress) timer = setInterval(() => void poll().catch(() => undefined), 1000);
    // execa's option types take a file descriptor only as a literal number type.
    const fd = log.fd as 3;
    const result = await execa('make', ['-C', options.kernelDir, `O=${options.buildDir}`, ...options.args], {
      reject: false,
      stdin: 'ignore',
      stdout: fd,
      stderr: fd,
      cancelSignal: options.signal,
      // A make above us (kvm-farm started from a Makefile) must not lend us its jobserver.
      env: { MAKEFLAGS: '', MFLAGS: '', MAKELEVEL: '' },
    });
    return { exitCode: result.exitCode, aborted: result.isCanceled, durationMs: Date.now() - started };
  } finally {
    if (timer) clearInterval(timer);
    await log.close();
  }
}

/** The last progress line among the final 4 KiB of a growing log. */
async function latestProgressLine(file: string): Promise<string | undefined> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, 4096);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    const lines = buffer.toString('utf8').split('\n').slice(1, -1);
    return lines.reverse().find((line) => PROGRESS.test(line));
  } finally {
    await handle.close();
  }
}
