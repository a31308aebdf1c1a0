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

/** Prints one clear line for an error and gives the exit status; unexpected errors keep their stack. */
export function reportError(command: string, error: unknown, write: (line: string) => void): number {
  if (isKvmFarmError(error)) {
    write(`${command}: ${error.message}`);
    return error.code === 'KVMFARM_INTERRUPTED' ? EXIT.interrupted : EXIT.error;
  }
  write(`${command}: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  return EXIT.error;
}

export function usageError(message: string): KvmFarmError {
  return new KvmFarmError('KVMFARM_BAD_ARGUMENT', message);
}
