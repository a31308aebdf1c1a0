import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { KvmFarmError } from '../util/errors.js';
import { datestamp } from './layout.js';

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
  const results = path.resolve(options.results ?? 'res');
  const name = options.name ?? `${datestamp()}${options.suffix ?? ''}`;
  if (!/^[A-Za-z0-9._/-]+$/.test(name) || name.split('/').includes('..')) {
    throw new KvmFarmError('KVMFARM_BAD_ARGUMENT', `--datestamp "${name}" may hold only letters, digits, . _ - and /`);
  }
  const dir = path.join(results, name);
  mkdirSync(path.dirname(dir), { recursive: true });
  try {
    mkdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new KvmFarmError('KVMFARM_RUNDIR_EXISTS', `run directory ${dir} already exists; it is never overwritten`);
    }
    throw error;
  }
  return dir;
}
