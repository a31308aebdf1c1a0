/**
 * The real parts some tests need (a kernel tree, qemu, sshd, root, ...), checked in one
 * place. A test never skips for want of one: every test in the scope of `requireReal`
 * fails with one line naming what is missing and the Debian package that provides it.
 * scripts/test.sh installs those packages (scripts/packages.txt); a test checks that the
 * two lists agree.
 */
import { accessSync, constants, existsSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, beforeEach } from 'vitest';
import { cacheLayout } from '../../src/build/store.js';

/** A command on PATH (or in the sbin directories a root shell has), and its package. */
interface CommandNeed {
  command: string;
  package: string;
}
/** A file a package installs that no command stands for (headers, static libc). */
interface FileNeed {
  file: string;
  package: string;
}
type Need = CommandNeed | FileNeed | 'kernel-tree' | 'root';

const cmd = (command: string, pkg: string): CommandNeed => ({ command, package: pkg });

/** Each part a test may ask for, as the commands, files and conditions it stands for. */
export const PARTS = {
  'kernel-tree': ['kernel-tree'],
  /** What make needs to build a small x86_64 kernel from Debian's linux-source-6.1. */
  'kernel-build': [
    cmd('make', 'make'), cmd('gcc', 'gcc'), cmd('flex', 'flex'), cmd('bison', 'bison'), cmd('bc', 'bc'), cmd('gawk', 'gawk'),
    // kvm-farm's initramfs has a static /init.
    { file: '/usr/lib/x86_64-linux-gnu/libc.a', package: 'libc6-dev' },
    { file: '/usr/include/gelf.h', package: 'libelf-dev' },
    { file: '/usr/include/openssl/opensslv.h', package: 'libssl-dev' },
  ],
  qemu: [cmd('qemu-system-x86_64', 'qemu-system-x86')],
  /** A debugger to attach to a --gdb guest. */
  gdb: [cmd('gdb', 'gdb')],
  /** A static /init for a hand-made initramfs. */
  'static-gcc': [cmd('gcc', 'gcc'), { file: '/usr/lib/x86_64-linux-gnu/libc.a', package: 'libc6-dev' }, cmd('cpio', 'cpio')],
  /** The kernel's own scripts (kvm-recheck.sh) and tree identification. */
  git: [cmd('git', 'git')],
  root: ['root'],
  /** Headless Debian Chromium for the report's browser tests. */
  chromium: [cmd('chromium', 'chromium')],
  /** A farm of sshd hosts in network namespaces (test/transport/farm.ts). */
  farm: [
    'root',
    { file: '/usr/sbin/sshd', package: 'openssh-server' },
    cmd('ssh-keygen', 'openssh-client'), cmd('ssh-agent', 'openssh-client'), cmd('ssh-add', 'openssh-client'),
    cmd('ip', 'iproute2'), cmd('ss', 'iproute2'),
    cmd('unshare', 'util-linux'), cmd('nsenter', 'util-linux'), cmd('taskset', 'util-linux'),
  ],
  /** A Slurm cluster of slurmd nodes in network namespaces (test/slurm/cluster.ts). */
  slurm: [
    'root',
    { file: '/usr/sbin/slurmctld', package: 'slurmctld' }, { file: '/usr/sbin/slurmd', package: 'slurmd' },
    cmd('srun', 'slurm-client'), cmd('salloc', 'slurm-client'), cmd('scontrol', 'slurm-client'), cmd('sinfo', 'slurm-client'),
    { file: '/usr/sbin/munged', package: 'munge' }, cmd('munge', 'munge'),
    cmd('ip', 'iproute2'), cmd('unshare', 'util-linux'), cmd('nsenter', 'util-linux'), cmd('setpriv', 'util-linux'),
  ],
} satisfies Record<string, Need[]>;
export type Part = keyof typeof PARTS;

/**
 * The kernel tree real-kernel tests use: $KVM_FARM_KERNEL_DIR, else the one
 * scripts/setup-kernel-tree.sh unpacks under the cache root.
 */
export function kernelTreePath(env: NodeJS.ProcessEnv = process.env): string {
  return env.KVM_FARM_KERNEL_DIR ?? path.join(cacheLayout(undefined, env).root, 'src/linux-source-6.1');
}

function onPath(command: string): boolean {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  return dirs.some((dir) => {
    try {
      accessSync(path.join(dir, command), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** One line per missing need, naming the fix; none when everything is there. */
export function missingParts(parts: Part[]): string[] {
  const lines = new Set<string>();
  for (const need of parts.flatMap((part): Need[] => PARTS[part])) {
    if (need === 'kernel-tree') {
      const tree = kernelTreePath();
      if (!existsSync(path.join(tree, 'Makefile'))) lines.add(`kernel tree ${tree} not found: run scripts/setup-kernel-tree.sh (apt-get install linux-source-6.1)`);
    } else if (need === 'root') {
      if (process.getuid?.() !== 0) lines.add('not root: run the tests as root (the farm makes network namespaces)');
    } else if ('command' in need) {
      if (!onPath(need.command)) lines.add(`${need.command} not found: apt-get install ${need.package}`);
    } else if (!existsSync(need.file)) {
      lines.add(`${need.file} not found: apt-get install ${need.package}`);
    }
  }
  return [...lines];
}

export interface Real {
  /** The kernel tree (its path even when missing: then no test body runs). */
  kernelTree: string;
  /** Everything asked for is here. */
  ok: boolean;
  /**
   * A beforeAll that runs only when everything is here, and whose failure fails every
   * test in its scope: vitest would otherwise report those tests as skipped.
   */
  beforeAll(setUp: () => unknown, timeoutMs?: number): void;
}

/**
 * Checks `parts` when the file is collected; when any is missing, every test in the
 * calling scope (the file, or the describe it is called in) fails with one line per
 * missing part.
 */
export function requireReal(...parts: Part[]): Real {
  const missing = missingParts(parts);
  beforeEach(() => {
    if (missing.length) throw new Error(missing.join('; '));
  });
  return {
    kernelTree: kernelTreePath(),
    ok: missing.length === 0,
    beforeAll(setUp, timeoutMs) {
      let failure: unknown;
      beforeAll(async () => {
        if (missing.length) return;
        try {
          await setUp();
        } catch (error) {
          failure = error;
        }
      }, timeoutMs);
      beforeEach(() => {
        if (failure !== undefined) throw failure;
      });
    },
  };
}
