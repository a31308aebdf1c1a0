import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { nodeArgsForModule } from '../../src/util/module-worker.js';

export type Command = 'kvm-run' | 'kvm-again' | 'kvm-recheck' | 'kvm-remote';

const entry = path.join(path.dirname(fileURLToPath(import.meta.url)), 'cli-main.ts');

/**
 * Runs one command as a real process, as a user's shell would, and returns what it
 * printed. The timeout only catches a hang; it is far above any normal run.
 */
export async function runCommand(command: Command, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}) {
  const result = await execa('node', [...nodeArgsForModule(entry), command, ...args], {
    reject: false,
    cwd: options.cwd ?? process.cwd(),
    env: { ...options.env, CI: 'true' },
    timeout: options.timeoutMs ?? 120_000,
    stdin: 'ignore',
  });
  return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr, stderrLines: result.stderr === '' ? [] : result.stderr.split('\n'), timedOut: result.timedOut };
}
