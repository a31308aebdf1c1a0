import { KvmFarmError } from '../util/errors.js';

/** Node keeps timer delays in 32 bits of milliseconds: a longer delay fires at once, not late. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

const DAY = 86_400;

/**
 * The largest value each number may take, chosen from what the code can honour:
 * a guest's whole life (duration + grace + boot limit) is one timer, so the three
 * together stay under MAX_TIMER_MS (about 24.8 days); counts are bounded so that a
 * typo such as `99999999*TREE01` fails at once instead of planning for minutes.
 */
export const LIMITS = {
  durationSeconds: { min: 1, max: 20 * DAY, unit: 's' },
  shutdownGraceSeconds: { min: 0, max: 2 * DAY, unit: 's' },
  bootTimeoutSeconds: { min: 1, max: DAY, unit: 's' },
  cpus: { min: 1, max: 65_536, unit: '' },
  /** Copies of one `--configs` entry, and instances in a whole run. */
  copies: { min: 1, max: 10_000, unit: '' },
  instances: { min: 1, max: 10_000, unit: '' },
  memoryMiB: { min: 16, max: 16 * 1024 * 1024, unit: 'MiB' },
  gatherTimeoutMs: { min: 1_000, max: DAY * 1000, unit: 'ms' },
  retries: { min: 0, max: 100, unit: '' },
  lostGraceMs: { min: 0, max: DAY * 1000, unit: 'ms' },
  shipConcurrency: { min: 1, max: 10_000, unit: '' },
  connectTimeoutMs: { min: 100, max: 3_600_000, unit: 'ms' },
  shipTimeoutMs: { min: 1_000, max: DAY * 1000, unit: 'ms' },
} as const;

export type LimitName = keyof typeof LIMITS;

/**
 * Checks one number against its limit and returns it; the error line names the
 * flag, the value and the range, so the fix is in the message.
 */
export function checkNumber(name: LimitName, flag: string, value: number): number {
  const { min, max, unit } = LIMITS[name];
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    const shown = Number.isFinite(value) ? String(value) : String(value);
    throw new KvmFarmError('KVMFARM_BAD_ARGUMENT', `${flag} ${shown}${unit}: must be a whole number from ${min} to ${max}${unit ? ` ${unit}` : ''}`);
  }
  return value;
}
