import { LIMITS } from '../options/limits.js';
import { KvmFarmError } from '../util/errors.js';
import type { ScenarioLibrary } from './library.js';

/**
 * Expands a `--configs` list as kvm.sh does: `NAME`, `N*NAME` for N copies, and
 * `CFLIST` for the library's default list (so `2*CFLIST` runs it twice). Every name
 * is checked against the library, and an unknown one lists what is available.
 */
export function expandConfigs(spec: string, library: ScenarioLibrary): string[] {
  const words = spec.split(/\s+/).filter((word) => word !== '');
  if (words.length === 0) {
    throw new KvmFarmError('KVMFARM_BAD_ARGUMENT', '--configs "" names no scenario');
  }
  const names: string[] = [];
  for (const word of words) {
    const match = /^(?:(\d+)\*)?(.+)$/.exec(word)!;
    const repeats = match[1] === undefined ? 1 : Number(match[1]);
    if (repeats > LIMITS.copies.max) {
      throw new KvmFarmError('KVMFARM_BAD_ARGUMENT', `--configs entry "${word.slice(0, 80)}": at most ${LIMITS.copies.max} copies of one scenario`);
    }
    const name = match[2]!;
    if (repeats < 1 || name.includes('*')) {
      throw new KvmFarmError(
        'KVMFARM_BAD_ARGUMENT',
        `--configs entry "${word}" is not NAME or N*NAME with N at least 1`,
      );
    }
    const expanded = name === 'CFLIST' ? library.cflist : [name];
    if (name === 'CFLIST' && expanded.length === 0) {
      throw new KvmFarmError('KVMFARM_SCENARIO_DIR', `${library.dir} has no CFLIST (or it is empty)`);
    }
    for (const scenarioName of expanded) library.load(scenarioName);
    // Checked before expanding, so a typo costs one comparison rather than gigabytes.
    if (names.length + repeats * expanded.length > LIMITS.instances.max) {
      throw new KvmFarmError('KVMFARM_BAD_ARGUMENT', `--configs "${spec.slice(0, 80)}" asks for more than ${LIMITS.instances.max} instances in one run`);
    }
    for (let i = 0; i < repeats; i++) names.push(...expanded);
  }
  return names;
}

/**
 * Names each run of a scenario the way rcutorture names its result directories:
 * the first `TINY01`, then `TINY01.2`, `TINY01.3`.
 */
export function instanceIds(names: string[]): string[] {
  const seen = new Map<string, number>();
  return names.map((name) => {
    const count = (seen.get(name) ?? 0) + 1;
    seen.set(name, count);
    return count === 1 ? name : `${name}.${count}`;
  });
}

/** The scenario an instance id belongs to: `TINY01.2` → `TINY01`. */
export function scenarioOfInstance(id: string): string {
  return id.replace(/\.\d+$/, '');
}
