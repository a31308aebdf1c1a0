import type { RunSummary } from '../report/types.js';
import { printSummary } from './print-summary.js';
import { installSignalHandlers } from './signals.js';

/** Where a command prints: the terminal, or a test's arrays. */
export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
}

/**
 * Whether the reader of a stream has gone (`kvm-recheck RUN | head`). A closed
 * pipe must not crash a run with hours of guests behind it: its lines are
 * dropped from then on, and everything else, the run directory included, goes on.
 */
const gone = new WeakSet<NodeJS.WriteStream>();

function writeLine(stream: NodeJS.WriteStream, line: string): void {
  if (!gone.has(stream)) stream.write(`${line}\n`);
}

/** Makes a closed pipe on stdout or stderr mean "drop the lines", not an uncaught error. */
function toleratePipeClose(stream: NodeJS.WriteStream): void {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') throw error;
    gone.add(stream);
  });
}

toleratePipeClose(process.stdout);
toleratePipeClose(process.stderr);

export const stdio: Io = {
  out: (line) => writeLine(process.stdout, line),
  err: (line) => writeLine(process.stderr, line),
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
