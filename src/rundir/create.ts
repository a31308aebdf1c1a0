import { DEFAULTS } from '../options/defaults.js';
import { checkDatestamp } from '../options/run-dir-names.js';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { KvmFarmError } from '../util/errors.js';
import { printable } from '../util/printable.js';
import { datestamp } from './layout.js';

function describeMkdirError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EEXIST' || code === 'ENOTDIR') return 'a file that is not a directory is in the way';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  return code ?? String(error);
}

export interface CreateRunDirOptions {
  /** Parent of run directories (`--results`), default `res` under the current directory. */
  results?: string;
  /** Name of the run directory (`--datestamp`), default the current date and time. */
  name?: string;
  /** Appended to the generated name, as `-again`. */
  suffix?: string;
}

/**
 * Creates a new run directory and returns its absolute path. The last component is
 * made with a plain mkdir, so an existing run is refused, never written into.
 */
export function createRunDir(options: CreateRunDirOptions = {}): string {
  const results = path.resolve(options.results ?? DEFAULTS.results);
  const name = options.name === undefined ? `${datestamp()}${options.suffix ?? ''}` : checkDatestamp(options.name);
  const dir = path.join(results, name);
  try {
    mkdirSync(path.dirname(dir), { recursive: true });
  } catch (error) {
    throw new KvmFarmError('KVMFARM_BAD_ARGUMENT', `cannot make the results directory ${printable(path.dirname(dir))}: ${describeMkdirError(error)}`);
  }
  try {
    mkdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new KvmFarmError('KVMFARM_RUNDIR_EXISTS', `run directory ${printable(dir)} already exists; it is never overwritten`);
    }
    throw new KvmFarmError('KVMFARM_BAD_ARGUMENT', `cannot make the run directory ${printable(dir)}: ${describeMkdirError(error)}`);
  }
  return dir;
}
