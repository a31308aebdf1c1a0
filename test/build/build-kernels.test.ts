import { describe, expect, it } from 'vitest';
import { buildKernels } from '../../src/build/build-kernels.js';
import type { BuildOptions } from '../../src/build/types.js';
import { SUITES } from '../../src/scenarios/suites.js';
import { makeTree } from '../helpers/tmp-tree.js';

const options = (kernelDir: string, extra: Partial<BuildOptions> = {}): BuildOptions => ({
  kernelDir,
  instances: [],
  cfcommon: [],
  suite: SUITES.rcu!,
  jobs: 1,
  ...extra,
});

describe('buildKernels setup errors (no process started)', () => {
  it('rejects a directory that is not a kernel tree with one clear line', async () => {
    const tree = makeTree({ 'hello.txt': 'hi\n' });
    try {
      await expect(buildKernels(options(tree.dir))).rejects.toMatchObject({
        code: 'KVMFARM_NOT_A_KERNEL_TREE',
        message: expect.stringMatching(new RegExp(`^${tree.dir} is not a Linux kernel source tree \\(no Makefile, Kconfig, arch, scripts/kconfig\\): [^\\n]*$`)),
      });
    } finally {
      tree.remove();
    }
  });

  it('rejects a tree that was built in, since out-of-tree builds refuse it', async () => {
    const tree = makeTree({ Makefile: '', Kconfig: '', 'arch/x86/Kconfig': '', 'scripts/kconfig/x': '', '.config': 'CONFIG_X=y\n' });
    try {
      await expect(buildKernels(options(tree.dir))).rejects.toMatchObject({ code: 'KVMFARM_BUILD_SETUP', message: expect.stringContaining('make mrproper') });
    } finally {
      tree.remove();
    }
  });

  it('rejects a job count below 1', async () => {
    await expect(buildKernels(options('/nonexistent', { jobs: 0 }))).rejects.toMatchObject({ code: 'KVMFARM_BAD_ARGUMENT' });
  });

  it('closes the reporter even when it throws', async () => {
    let closed = false;
    await expect(buildKernels(options('/nonexistent', { reporter: { close: () => (closed = true) } }))).rejects.toThrow();
    expect(closed).toBe(true);
  });
});
