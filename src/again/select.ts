import { KvmFarmError } from '../util/errors.js';
import type { SourceInstance } from './source.js';

export interface RerunSelection {
  /** `--configs`: instance names (`TREE01 TINY01.2`) to rerun. */
  configs?: string;
  /** `--failed`: rerun the instances whose verdict was not pass. */
  failed?: boolean;
}

export interface SelectedRerun {
  instances: SourceInstance[];
  /** Whether only part of the run was picked (the batches are then planned anew). */
  subset: boolean;
  /** Instances --failed left out because they have no kernel to boot. */
  skippedWithoutKernel: string[];
}

/**
 * Which instances of the earlier run to boot again. Every picked instance must have a
 * kernel and a qemu-cmd; a name that is not in the run is an error listing those that are.
 */
export function selectRerun(instances: SourceInstance[], selection: RerunSelection): SelectedRerun {
  let picked = instances;
  const skippedWithoutKernel: string[] = [];
  if (selection.configs !== undefined) {
    const names = selection.configs.split(/\s+/).filter((w) => w !== '');
    if (names.length === 0) throw new KvmFarmError('KVMFARM_BAD_ARGUMENT', '--configs is empty');
    const known = new Set(instances.map((x) => x.id));
    const unknown = names.filter((n) => !known.has(n));
    if (unknown.length > 0) {
      throw new KvmFarmError(
        'KVMFARM_UNKNOWN_INSTANCE',
        `--configs: ${unknown.map((n) => `"${n}"`).join(', ')} not in the run; its instances: ${[...known].join(' ')}`,
      );
    }
    const wanted = new Set(names);
    picked = picked.filter((x) => wanted.has(x.id));
  }
  if (selection.failed) {
    picked = picked.filter((x) => x.verdict !== 'pass');
    for (const x of picked) if (!hasKernel(x)) skippedWithoutKernel.push(x.id);
    picked = picked.filter(hasKernel);
    if (picked.length === 0) {
      throw new KvmFarmError('KVMFARM_BAD_ARGUMENT', '--failed: no instance with a kernel failed in that run; nothing to rerun');
    }
  }
  const missing = picked.filter((x) => !hasKernel(x));
  if (missing.length > 0) {
    const x = missing[0]!;
    const why = x.kernelImage ? 'no qemu-cmd' : x.verdict === 'build-failed' ? 'its build failed' : 'its kernel image is gone';
    throw new KvmFarmError(
      'KVMFARM_NO_KERNEL',
      `instance ${x.id} has no kernel to boot (${why})${missing.length > 1 ? `, nor ${missing.slice(1).map((m) => m.id).join(' ')}` : ''}; leave it out with --configs`,
    );
  }
  return { instances: picked, subset: picked.length !== instances.length, skippedWithoutKernel };
}

function hasKernel(x: SourceInstance): boolean {
  return x.kernelImage !== undefined && x.command !== undefined;
}
