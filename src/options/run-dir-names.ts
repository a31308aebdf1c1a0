import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { RUN_FILES } from '../rundir/layout.js';
import { KvmFarmError } from '../util/errors.js';

/**
 * `--datestamp`: a relative name under `--results`, as kvm.sh allows (subdirectories
 * included), that can never climb out of it or be read as an option.
 */
export function checkDatestamp(name: string): string {
  const parts = name.split('/');
  if (!/^[A-Za-z0-9._/-]+$/.test(name) || name.startsWith('-') || parts.some((p) => p === '' || p === '.' || p === '..')) {
    throw new KvmFarmError('KVMFARM_BAD_ARGUMENT', `--datestamp "${name}": use letters, digits, . _ - and /, no empty, "." or ".." part, not starting with - or /`);
  }
  return name;
}

/** A directory kvm-farm or rcutorture wrote as one run. */
export function looksLikeRunDir(dir: string): boolean {
  return existsSync(path.join(dir, RUN_FILES.tortureSuite)) && existsSync(path.join(dir, RUN_FILES.scenarios));
}

/**
 * `--results`: the parent of run directories. A file there, or an earlier run
 * directory (a slip for `kvm-again RUN`), would nest a run where nobody looks for it.
 */
export function checkResultsDir(results: string, flag = '--results'): string {
  const absolute = path.resolve(results);
  if (existsSync(absolute)) {
    if (!statSync(absolute).isDirectory()) throw new KvmFarmError('KVMFARM_BAD_ARGUMENT', `${flag} "${results}" is not a directory`);
    if (looksLikeRunDir(absolute)) {
      throw new KvmFarmError('KVMFARM_BAD_ARGUMENT', `${flag} "${results}" is a run directory; give the directory that holds runs (such as res)`);
    }
  }
  return results;
}
