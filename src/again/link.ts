import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { PlaceMode } from '../rundir/safe-write.js';
import { KvmFarmError } from '../util/errors.js';

/**
 * How a rerun gets the earlier run's kernels: hard link (default, no extra disk), symbolic
 * link, or copy into a new directory (rundir/safe-write's placeInside does it); or no new
 * directory at all, `inplace`: boot them where they were built, as kvm-again.sh does.
 */
export type LinkMode = PlaceMode | InplaceMode;
/** `inplace` refuses a directory whose guests ran already; `inplace-force` runs them again over the old results. */
export type InplaceMode = 'inplace' | 'inplace-force';

export const LINK_MODES: readonly LinkMode[] = ['hard', 'soft', 'copy', 'inplace', 'inplace-force'];

export function isInplace(mode: LinkMode): mode is InplaceMode {
  return mode === 'inplace' || mode === 'inplace-force';
}

/**
 * Hard links cannot cross filesystems. Rather than silently copying gigabytes of
 * vmlinux, kvm-again refuses before creating anything and names the two ways out.
 */
export function checkLinkMode(mode: PlaceMode, sourceFile: string, newRunParent: string): void {
  if (mode !== 'hard') return;
  const target = nearestExisting(newRunParent);
  if (statSync(sourceFile).dev !== statSync(target).dev) {
    throw new KvmFarmError(
      'KVMFARM_LINK',
      `--link hard: ${newRunParent} is on another filesystem than ${sourceFile}; use --link copy or --link soft`,
    );
  }
}

function nearestExisting(dir: string): string {
  let current = path.resolve(dir);
  while (!existsSync(current)) current = path.dirname(current);
  return current;
}
