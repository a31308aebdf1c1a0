import { runGuest, type RunGuestOptions } from './run-guest.js';
import type { Accel, GuestRun } from './types.js';
import { SETTING } from './build-command.js';

export interface RunBatchOptions {
  /** Aborting stops every guest of the batch. */
  signal?: AbortSignal;
  /** Called as each guest ends, for progress lines. */
  onGuestEnd?: (run: GuestRun) => void;
}

/**
 * Start every guest of a batch at once; resolve with one GuestRun each, in the order
 * given, once all have ended. A guest whose options are unusable gets a record with
 * startError rather than failing its batch.
 */
export function runBatch(guests: RunGuestOptions[], options: RunBatchOptions = {}): Promise<GuestRun[]> {
  return Promise.all(
    guests.map(async (guest) => {
      const signals = [guest.signal, options.signal].filter((s): s is AbortSignal => s !== undefined);
      const signal = signals.length > 1 ? AbortSignal.any(signals) : signals[0];
      const started = Date.now();
      const run = await runGuest({ ...guest, ...(signal ? { signal } : {}) }).catch(
        (error: unknown): GuestRun => ({
          instance: guest.instance,
          host: guest.host ?? 'localhost',
          exitCode: null,
          signal: null,
          timedOut: false,
          noOutput: false,
          stopped: false,
          startError: error instanceof Error ? error.message : String(error),
          durationMs: Date.now() - started,
          logPath: guest.consoleLog ?? '',
          token: guest.command.settings[SETTING.token] ?? '',
          accel: (guest.command.settings[SETTING.accel] ?? 'tcg') as Accel,
        }),
      );
      options.onGuestEnd?.(run);
      return run;
    }),
  );
}
