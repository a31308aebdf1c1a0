import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { INSTANCE_FILES, RUN_FILES } from '../rundir/layout.js';
import { KvmFarmError } from '../util/errors.js';
import { printable } from '../util/printable.js';
import type { InplaceMode } from './link.js';

/** What a guest leaves in its instance directory; an in-place rerun starts without them. */
const GUEST_RESULTS = [
  INSTANCE_FILES.consoleLog,
  INSTANCE_FILES.diags,
  INSTANCE_FILES.qemuRetval,
  INSTANCE_FILES.qemuOutput,
  INSTANCE_FILES.verdict,
  INSTANCE_FILES.guest,
];

export interface InplaceCheck {
  mode: InplaceMode;
  runDir: string;
  instanceIds: readonly string[];
  /** Options that name a new directory or a part of the run; in place there is neither. */
  conflicting: { rundir: boolean; datestamp: boolean; results: boolean; subset: boolean };
}

/**
 * `--link inplace`: the run directory itself becomes the rerun's (kvm-series.sh builds
 * with --buildonly, then boots each build where it lies). `inplace` refuses a directory
 * whose guests ran already, since their results would be replaced; `inplace-force` does so.
 * Checked before anything is touched.
 */
export function checkInplace(input: InplaceCheck): void {
  const flag = `--link ${input.mode}`;
  const { conflicting } = input;
  const clash = conflicting.rundir ? '--rundir' : conflicting.datestamp ? '--datestamp' : conflicting.results ? '--results' : undefined;
  if (clash) throw new KvmFarmError('KVMFARM_BAD_ARGUMENT', `${flag} reruns in ${printable(input.runDir)} itself; ${clash} names a new directory, leave one of the two out`);
  if (conflicting.subset) throw new KvmFarmError('KVMFARM_BAD_ARGUMENT', `${flag} reruns the whole run where it lies; for a subset (--configs, --failed) use --link hard into a new directory`);
  if (input.mode === 'inplace-force') return;
  const ran = input.instanceIds.find((id) => existsSync(path.join(input.runDir, id, INSTANCE_FILES.consoleLog)));
  if (ran !== undefined) {
    throw new KvmFarmError(
      'KVMFARM_RUNDIR_EXISTS',
      `${flag}: ${printable(input.runDir)} has run already (${printable(ran)}/console.log); --link inplace-force runs it again over those results, --link hard into a new directory keeps them`,
    );
  }
}

/** Clears what an earlier boot left (and the build-only marks), so the new results are the only ones. */
export function clearForInplace(runDir: string, instanceIds: readonly string[], booting: boolean): void {
  for (const id of instanceIds) {
    for (const name of GUEST_RESULTS) rmSync(path.join(runDir, id, name), { force: true });
    if (booting) rmSync(path.join(runDir, id, INSTANCE_FILES.buildonly), { force: true });
  }
  for (const name of [RUN_FILES.interrupted, RUN_FILES.stop, ...(booting ? [RUN_FILES.buildonly] : [])]) rmSync(path.join(runDir, name), { force: true });
}
