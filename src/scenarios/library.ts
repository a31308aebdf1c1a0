import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { printable } from '../util/printable.js';
import { readTextInside } from '../rundir/safe-read.js';
import { KvmFarmError } from '../util/errors.js';
import { parseBootFile, parseFragment } from './fragment.js';
import type { TortureSuite } from './suites.js';
import type { KconfigSetting, Scenario } from './types.js';

/** A directory in rcutorture's configs/<suite> format. */
export interface ScenarioLibrary {
  dir: string;
  /** Scenario names of CFLIST, the default list, in order. */
  cflist: string[];
  /** Settings of CFcommon, applied to every scenario before its own fragment. */
  cfcommon: KconfigSetting[];
  /** Every scenario the directory holds, sorted. */
  available: string[];
  load(name: string): Scenario;
}

/** Files of a scenario directory that are not scenarios themselves. */
const NOT_SCENARIOS = new Set(['CFLIST', 'CFcommon']);
/** rcutorture's rule for scenario names: no lower case, no dot, no slash. */
const SCENARIO_NAME = /^[^/.a-z][^/.a-z]*$/;

/** The scenario directories shipped with kvm-farm, one per torture suite. */
export function bundledScenarioDir(suite: TortureSuite): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  // src/scenarios in a checkout, dist/src/scenarios when compiled.
  for (const up of ['../..', '../../..']) {
    const candidate = path.resolve(here, up, 'scenarios', suite.name);
    if (isDirectory(candidate)) return candidate;
  }
  return path.resolve(here, '../..', 'scenarios', suite.name);
}

export function loadScenarioLibrary(dir: string): ScenarioLibrary {
  const absolute = path.resolve(dir);
  if (!isDirectory(absolute)) {
    throw new KvmFarmError('KVMFARM_SCENARIO_DIR', `scenario directory "${printable(dir)}" does not exist or is not a directory`);
  }
  const available = readdirSync(absolute)
    .filter((name) => SCENARIO_NAME.test(name) && !NOT_SCENARIOS.has(name))
    .filter((name) => isFile(path.join(absolute, name)))
    .sort();
  // Every file is read through the safe-open rule: a FIFO, a device or a link out of the directory is refused.
  const readOptional = (name: string): string | undefined => readTextInside(absolute, name);
  const cflistText = readOptional('CFLIST') ?? '';
  const cflist = cflistText.split(/\s+/).filter((word) => word !== '' && !word.startsWith('#'));
  const cfcommonPath = path.join(absolute, 'CFcommon');
  const cfcommonText = readOptional('CFcommon');
  const cfcommon = cfcommonText === undefined ? [] : parseFragment(cfcommonText, cfcommonPath).settings;
  const cache = new Map<string, Scenario>();

  const load = (name: string): Scenario => {
    const cached = cache.get(name);
    if (cached) return cached;
    if (!available.includes(name)) {
      throw new KvmFarmError(
        'KVMFARM_UNKNOWN_SCENARIO',
        `unknown scenario "${printable(name)}" in ${printable(absolute)}; available: ${printable(available.join(' '), 1000)}`,
      );
    }
    const fragmentPath = path.join(absolute, name);
    const fragmentText = readOptional(name);
    if (fragmentText === undefined) throw new KvmFarmError('KVMFARM_UNKNOWN_SCENARIO', `scenario file ${printable(fragmentPath)} is gone`);
    const { settings, checks, base } = parseFragment(fragmentText, fragmentPath);
    const bootText = readOptional(`${name}.boot`);
    const scenario: Scenario = {
      name,
      dir: absolute,
      settings,
      checks,
      bootArgs: bootText === undefined ? [] : parseBootFile(bootText),
      ...(base === undefined ? {} : { base }),
    };
    cache.set(name, scenario);
    return scenario;
  };

  return { dir: absolute, cflist, cfcommon, available, load };
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}
