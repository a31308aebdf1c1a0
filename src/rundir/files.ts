import { appendFileSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import type { Batch } from '../plan/types.js';
import { KvmFarmError } from '../util/errors.js';
import { RUN_FILES } from './layout.js';

/** `1.  TREE01 TREE02`: one batch a line, the format kvm-again.sh reads. */
export function formatScenariosFile(batches: Batch[]): string {
  return batches.map((b, i) => `${i + 1}. ${b.instances.map((x) => ` ${x.id}`).join('')}\n`).join('');
}

/** Batches of instance ids from a `scenarios` file. */
export function parseScenariosFile(text: string): string[][] {
  return text
    .split('\n')
    .filter((line) => /^\d+\./.test(line.trim()))
    .map((line) => line.trim().split(/\s+/).slice(1));
}

/** `batch instance cpus` lines, then `# cpus=N`, as kvm.sh records a run. */
export function formatBatchesFile(batches: Batch[], cpus: number): string {
  const lines = batches.flatMap((b, i) => b.instances.map((x) => `${i + 1} ${x.id} ${x.cpus}`));
  return `${lines.join('\n')}\n# cpus=${cpus}\n`;
}

/** Appends one timestamped line to the run's log. */
export function appendRunLog(runDir: string, line: string): void {
  appendFileSync(path.join(runDir, RUN_FILES.log), `${new Date().toISOString()} ${line}\n`);
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
  if (!existsSync(absolute) || !statSync(absolute).isDirectory()) {
    throw new KvmFarmError('KVMFARM_NOT_A_RUNDIR', `run directory "${dir}" does not exist`);
  }
  const scenariosPath = path.join(absolute, RUN_FILES.scenarios);
  const suitePath = path.join(absolute, RUN_FILES.tortureSuite);
  if (!existsSync(scenariosPath) || !existsSync(suitePath)) {
    throw new KvmFarmError(
      'KVMFARM_NOT_A_RUNDIR',
      `"${dir}" is not a run directory: it has no ${RUN_FILES.scenarios} or ${RUN_FILES.tortureSuite} file`,
    );
  }
  return {
    dir: absolute,
    suite: readFileSync(suitePath, 'utf8').trim(),
    batches: parseScenariosFile(readFileSync(scenariosPath, 'utf8')),
  };
}

export function writeRunFile(runDir: string, name: string, text: string): void {
  writeFileSync(path.join(runDir, name), text);
}
