import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { nodeArgsForModule } from '../../src/util/module-worker.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Where each command's from-source main lives (the bins import the built ones). */
const MAINS = {
  'kvm-run': 'test/run/kvm-run-main.ts',
  'kvm-again': 'test/again/kvm-again-main.ts',
  'kvm-recheck': 'test/run/kvm-recheck-main.ts',
  'kvm-remote': 'test/farm/kvm-remote-main.ts',
} as const;

export type CommandName = keyof typeof MAINS;

export interface CliResult {
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
  /** stderr's non-empty lines. */
  errLines: string[];
  timedOut: boolean;
}

/** Runs one kvm-farm command as a real process from source, with a time limit. */
export async function runCli(command: CommandName, args: string[], options: { cwd: string; timeoutMs?: number; env?: NodeJS.ProcessEnv }): Promise<CliResult> {
  const result = await execa('node', [...nodeArgsForModule(path.join(root, MAINS[command])), ...args], {
    cwd: options.cwd,
    reject: false,
    timeout: options.timeoutMs ?? 60_000,
    stdin: 'ignore',
    env: { ...options.env, CI: '1' },
  });
  return {
    exitCode: result.exitCode,
    stdout: result.stdout,
    stderr: result.stderr,
    errLines: result.stderr.split('\n').filter((l) => l !== ''),
    timedOut: result.timedOut,
  };
}
