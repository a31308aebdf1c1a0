import { statSync } from 'node:fs';
import path from 'node:path';
import { bundledScenarioDir } from './library.js';
import type { TortureSuite } from './suites.js';

/** The word `--scenarios` takes to ask for kvm-farm's own scenarios by name. */
export const BUNDLED_SCENARIOS = 'bundled';

/** Where a kernel tree keeps its own scenarios for one suite, relative to the tree's top. */
export function treeScenarioPath(suite: TortureSuite): string {
  return path.join('tools/testing/selftests/rcutorture/configs', suite.name);
}

/** Why a run took its scenarios from where it did. */
export type ScenarioDirSource = 'given' | 'tree' | 'bundled';

export interface ScenarioDirChoice {
  /** Absolute path of the scenario directory. */
  dir: string;
  source: ScenarioDirSource;
}

export interface ScenarioDirInput {
  /** `--scenarios`: a directory, or `bundled`; absent means "the tree's own if it has them". */
  scenariosDir?: string;
  /** The kernel tree the run builds from (`--kernel-dir`, default the current directory). */
  kernelDir?: string;
  suite: TortureSuite;
}

/**
 * Picks the scenario directory as a kernel developer expects: the one named by
 * --scenarios; else the kernel tree's own configs/<suite>, because the scenarios
 * that match a tree are the ones shipped with it; else kvm-farm's bundled ones.
 */
export function chooseScenarioDir(input: ScenarioDirInput): ScenarioDirChoice {
  if (input.scenariosDir === BUNDLED_SCENARIOS) return { dir: bundledScenarioDir(input.suite), source: 'bundled' };
  if (input.scenariosDir !== undefined) return { dir: path.resolve(input.scenariosDir), source: 'given' };
  if (input.kernelDir !== undefined) {
    const own = path.resolve(input.kernelDir, treeScenarioPath(input.suite));
    if (isDirectory(own)) return { dir: own, source: 'tree' };
  }
  return { dir: bundledScenarioDir(input.suite), source: 'bundled' };
}

/** One line for the run's log and the dry run: which directory, and why that one. */
export function describeScenarioDir(choice: ScenarioDirChoice): string {
  const why =
    choice.source === 'tree' ? "the kernel tree's own; --scenarios bundled for kvm-farm's"
    : choice.source === 'bundled' ? "kvm-farm's bundled scenarios"
    : 'from --scenarios';
  return `Scenario directory: ${choice.dir} (${why})`;
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}
