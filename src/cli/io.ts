import type { RunSummary } from '../report/types.js';
import { printSummary } from './print-summary.js';
import { installSignalHandlers } from './signals.js';

/** Where a command prints: the terminal, or a test's arrays. */
export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
}

export const stdio: Io = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

/**
 * Runs a whole run under SIGINT/SIGTERM handling (the first signal aborts it cleanly,
 * a second exits at once), prints its summary (and what `after` adds) and gives the exit status.
 */
export async function runAndReport<S extends RunSummary>(io: Io, start: (signal: AbortSignal) => Promise<S>, after?: (summary: S) => void): Promise<number> {
  const controller = new AbortController();
  const restore = installSignalHandlers(controller, io.err);
  try {
    const summary = await start(controller.signal);
    printSummary(summary, io.out);
    after?.(summary);
    return summary.exitCode;
  } finally {
    restore();
  }
}
