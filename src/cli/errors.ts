import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { printable } from '../util/printable.js';
import { isKvmFarmError, KvmFarmError } from '../util/errors.js';

/** Exit statuses every kvm-farm command shares. */
export const EXIT = {
  ok: 0,
  /** The run finished and at least one scenario did not pass. */
  failures: 1,
  /** Bad input or a setup problem: one line says what. */
  error: 2,
  /** Stopped by SIGINT/SIGTERM. */
  interrupted: 130,
} as const;

/** An error line's length: enough for two paths and a reason, never a 50 MB quote. */
const ERROR_LINE_CHARS = 1000;

/**
 * Prints one line for an error and gives the exit status. A KvmFarmError's message
 * is the line. Anything else is a bug, not the user's doing: its stack goes to a
 * file in the temporary directory and the one line names that file. Either way
 * the line is made printable and bounded, since messages quote foreign text.
 */
export function reportError(command: string, error: unknown, write: (line: string) => void, tmpDir = os.tmpdir()): number {
  if (isKvmFarmError(error)) {
    write(`${command}: ${printable(error.message, ERROR_LINE_CHARS)}`);
    return error.code === 'KVMFARM_INTERRUPTED' ? EXIT.interrupted : EXIT.error;
  }
  const message = error instanceof Error ? error.message : String(error);
  // yargs' own complaints ("Not enough arguments following: duration") are about the command line, not bugs.
  if (error instanceof Error && error.name === 'YError') {
    write(`${command}: ${printable(message.replace(/\n/g, ' '), ERROR_LINE_CHARS)}`);
    return EXIT.error;
  }
  const saved = saveStack(command, error, tmpDir);
  write(`${command}: internal error: ${printable(message, 300)}${saved ? `; the details are in ${saved}` : ''}`);
  return EXIT.error;
}

/** Writes the error's stack to a fresh file and gives its path; undefined when even that fails. */
function saveStack(command: string, error: unknown, tmpDir: string): string | undefined {
  const file = path.join(tmpDir, `${command}-error-${new Date().toISOString().replace(/[:.]/g, '-')}-${randomBytes(3).toString('hex')}.txt`);
  const text = error instanceof Error ? `${error.stack ?? error.message}\n${error.cause === undefined ? '' : `cause: ${String(error.cause)}\n`}` : `${String(error)}\n`;
  try {
    writeFileSync(file, `${command} ${process.argv.slice(2).join(' ')}\n${text}`, { flag: 'wx', mode: 0o600 });
    return file;
  } catch {
    return undefined;
  }
}

export function usageError(message: string): KvmFarmError {
  return new KvmFarmError('KVMFARM_BAD_ARGUMENT', message);
}
