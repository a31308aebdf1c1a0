import { statSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import type { Batch } from '../plan/types.js';
import { printable } from '../util/printable.js';
import { KvmFarmError } from '../util/errors.js';
import { RUN_FILES } from './layout.js';
import { readTextInside } from './safe-read.js';
import { appendInside, writeInside } from './safe-write.js';

/** `1.  TREE01 TREE02`: one batch a line, the format kvm-again.sh reads. */
export function formatScenariosFile(batches: Batch[]): string {
  return batches.map((b, i) => `${i + 1}. ${b.instances.map((x) => ` ${x.id}`).join('')}\n`).join('');
}

/**
 * An instance id names a directory inside the run: one plain name, no `/`, not
 * `.` or `..`, nothing unprintable. A run directory from elsewhere is checked
 * against this before any id becomes a path.
 */
const INSTANCE_ID = /^(?!\.\.?$)[^/\x00-\x20\x7f-\x9f\u2028-\u202e\u2066-\u2069]{1,128}$/;

export function isInstanceId(id: string): boolean {
  return INSTANCE_ID.test(id);
}

/** Batches of instance ids from a `scenarios` file; an id that is not a plain name is an error naming it. */
export function parseScenariosFile(text: string, origin: string = RUN_FILES.scenarios): string[][] {
  const batches = text
    .split('\n')
    .filter((line) => /^\d+\./.test(line.trim()))
    .map((line) => line.trim().split(/\s+/).slice(1));
  const bad = batches.flat().find((id) => !isInstanceId(id));
  if (bad !== undefined) {
    throw new KvmFarmError('KVMFARM_NOT_A_RUNDIR', `${printable(origin)} names instance "${printable(bad)}", which is not a plain directory name; refused`);
  }
  return batches;
}

/** `batch instance cpus` lines, then `# cpus=N`, as kvm.sh records a run. */
export function formatBatchesFile(batches: Batch[], cpus: number): string {
  const lines = batches.flatMap((b, i) => b.instances.map((x) => `${i + 1} ${x.id} ${x.cpus}`));
  return `${lines.join('\n')}\n# cpus=${cpus}\n`;
}

/** Appends one timestamped line to the run's log. */
export function appendRunLog(runDir: string, line: string): void {
  appendInside(runDir, RUN_FILES.log, `${new Date().toISOString()} ${line}\n`);
}

/**
 * testid.txt: which kernel source the run tested, so a result can be traced back
 * to a commit and its uncommitted changes.
 */
export async function describeKernelTree(kernelDir: string): Promise<string> {
  let text = `Build directory: ${kernelDir}\n`;
  const git = async (...args: string[]) =>
    (await execa('git', ['-C', kernelDir, ...args], { reject: false, timeout: 60_000, maxBuffer: 256e6 })).stdout;
  const inside = await execa('git', ['-C', kernelDir, 'rev-parse', '--show-toplevel'], { reject: false, timeout: 10_000 });
  if (inside.exitCode === 0 && path.resolve(inside.stdout.trim()) === path.resolve(kernelDir)) {
    text += `Current commit: ${(await git('rev-parse', 'HEAD')).trim()}\n\n`;
    text += ` --- Output of 'git status':\n${await git('status')}\n\n\n`;
    text += ` --- Output of 'git diff HEAD':\n${await git('diff', 'HEAD')}\n`;
  }
  return text;
}

export interface RunDirInfo {
  dir: string;
  suite: string;
  /** Batches of instance ids as the run recorded them. */
  batches: string[][];
}

/** Reads what kvm-again and kvm-recheck need, with one clear error when it is not a run directory. */
export function readRunDir(dir: string): RunDirInfo {
  const absolute = path.resolve(dir);
  if (!isDirectory(absolute)) {
    throw new KvmFarmError('KVMFARM_NOT_A_RUNDIR', `run directory "${printable(dir)}" does not exist or is not a directory`);
  }
  const scenarios = readTextInside(absolute, RUN_FILES.scenarios);
  const suite = readTextInside(absolute, RUN_FILES.tortureSuite);
  if (scenarios === undefined || suite === undefined) {
    throw new KvmFarmError(
      'KVMFARM_NOT_A_RUNDIR',
      `"${printable(dir)}" is not a run directory: it has no ${RUN_FILES.scenarios} or ${RUN_FILES.tortureSuite} file`,
    );
  }
  return {
    dir: absolute,
    suite: suite.trim(),
    batches: parseScenariosFile(scenarios, path.join(absolute, RUN_FILES.scenarios)),
  };
}

export function writeRunFile(runDir: string, name: string, text: string): void {
  writeInside(runDir, name, text);
}

function isDirectory(dir: string): boolean {
  try {
    return statSync(dir).isDirectory();
  } catch {
    return false;
  }
}
