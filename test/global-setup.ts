/**
 * Builds the small kernels most real tests boot, once, before any test file runs. On a
 * brand-new machine each build takes minutes on 2 cores; inside a test file's hook they
 * would count against that hook's limit, and whichever file came first would time out.
 * Here they have no limit but make's own. When the kernel tree or the build tools are
 * missing nothing is built: the tests that need them fail, each naming what to install.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runKvm } from '../src/run/kvm-run.js';
import { missingParts, kernelTreePath } from './helpers/require.js';
import { smallRunOptions } from './helpers/run-options.js';

/** The kernels shared by most real tests (BUSTED01-SMALL's is TREE02C-SMALL's). */
const SHARED_KERNELS = 'UP01-SMALL TREE02C-SMALL TREE04C-SMALL';

export default async function setup(): Promise<void> {
  if (missingParts(['kernel-tree', 'kernel-build']).length > 0) return;
  const results = mkdtempSync(path.join(os.tmpdir(), 'kvmfarm-warm-'));
  const started = Date.now();
  try {
    const built = await runKvm({ ...smallRunOptions(kernelTreePath(), results, { configs: SHARED_KERNELS, datestamp: 'warm' }), buildonly: true });
    const made = built.instances.filter((x) => x.kernel.source === 'built').map((x) => x.instance);
    if (made.length > 0) console.log(`global setup: built ${made.join(' ')} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  } catch (error) {
    // The tests that boot these kernels fail with the reason; nothing is hidden here.
    console.log(`global setup: the shared kernels did not build: ${(error as Error).message}`);
  } finally {
    rmSync(results, { recursive: true, force: true });
  }
}
