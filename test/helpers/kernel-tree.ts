import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * The kernel tree real-kernel tests use: $KVM_FARM_KERNEL_DIR, else the one
 * scripts/setup-kernel-tree.sh unpacks. In CI its absence is a failure, never a skip.
 */
export function testKernelTree(): string | undefined {
  const dir =
    process.env.KVM_FARM_KERNEL_DIR ??
    path.join(process.env.KVM_FARM_CACHE ?? path.join(os.homedir(), '.cache/kvm-farm'), 'src/linux-source-6.1');
  if (existsSync(path.join(dir, 'Makefile'))) return dir;
  if (process.env.CI) throw new Error(`kernel tree ${dir} is missing: run scripts/setup-kernel-tree.sh`);
  return undefined;
}

/** The kernel tree, or a failure saying how to get one: a real-kernel test never skips. */
export function requireKernelTree(): string {
  const dir = testKernelTree();
  if (!dir) throw new Error('no kernel tree: run `bash scripts/setup-kernel-tree.sh` (needs `apt-get install linux-source-6.1`) or set KVM_FARM_KERNEL_DIR');
  return dir;
}
