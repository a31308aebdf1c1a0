import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { printable } from '../util/printable.js';
import type { KconfigSetting } from '../scenarios/types.js';
import { KvmFarmError } from '../util/errors.js';
import { applySettings } from './config.js';
import { pickBuildProblems, MAX_QUOTED } from './parse-build.js';
import { BUILD_INTERRUPTED, runMake } from './make.js';
import { replaceFile } from '../util/replace-file.js';

export interface ConfigureInput {
  kernelDir: string;
  /** A scratch `make O=` directory; reused between configurations of one call so kconfig's tools build once. */
  scratchDir: string;
  defconfig: string;
  settings: KconfigSetting[];
  makeArgs: string[];
  /** Where the resulting .config text is kept for the same inputs next time. */
  memoFile: string;
  signal?: AbortSignal;
}

export type ConfigureResult =
  | { ok: true; dotConfig: string; memo: boolean }
  | { ok: false; reason: string; quoted: string[] };

/** A make config target (`defconfig`, `tinyconfig`, `x86_64_defconfig`): a plain word, since it also names a log file. */
const MAKE_TARGET = /^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,127}$/;

/** Refuses a config target that is not a plain make target, before anything is built or written. */
export function checkMakeTarget(target: string, flag: string): void {
  if (!MAKE_TARGET.test(target)) {
    throw new KvmFarmError('KVMFARM_BAD_ARGUMENT', `${flag} "${printable(target)}" is not a make config target (letters, digits, _ . + -; no / or leading .)`);
  }
}

/**
 * The effective .config: `make <defconfig>`, the settings put in, `make olddefconfig`.
 * The result is memoized by the caller's key, so the same inputs never run kconfig twice.
 */
export async function configure(input: ConfigureInput): Promise<ConfigureResult> {
  if (existsSync(input.memoFile)) {
    return { ok: true, dotConfig: await readFile(input.memoFile, 'utf8'), memo: true };
  }
  checkMakeTarget(input.defconfig, 'config target');
  await mkdir(input.scratchDir, { recursive: true });
  const dotConfigFile = path.join(input.scratchDir, '.config');
  const make = async (target: string) => {
    const logFile = path.join(input.scratchDir, `Make.${target}.out`);
    const run = await runMake({
      kernelDir: input.kernelDir,
      buildDir: input.scratchDir,
      args: [...input.makeArgs, target],
      logFile,
      signal: input.signal,
    });
    if (run.exitCode === 0) return undefined;
    // Cut short, make's log says nothing about the scenario: name the interruption instead.
    if (run.aborted) return { ok: false as const, reason: BUILD_INTERRUPTED, quoted: [] };
    const out = await readFile(logFile, 'utf8');
    const problems = pickBuildProblems(out);
    const quoted = problems.errors.length > 0 ? problems.errors : out.trimEnd().split('\n').slice(-MAX_QUOTED);
    return { ok: false as const, reason: `make ${target} failed (exit ${run.exitCode ?? 'signal'})`, quoted: quoted.slice(0, MAX_QUOTED) };
  };
  const base = await make(input.defconfig);
  if (base) return base;
  const applied = applySettings(await readFile(dotConfigFile, 'utf8'), input.settings);
  await writeFile(dotConfigFile, applied);
  const resolved = await make('olddefconfig');
  if (resolved) return resolved;
  const dotConfig = await readFile(dotConfigFile, 'utf8');
  await mkdir(path.dirname(input.memoFile), { recursive: true });
  await replaceFile(input.memoFile, dotConfig);
  return { ok: true, dotConfig, memo: false };
}
