import { KvmFarmError } from './errors.js';

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, '': 60, h: 3600, d: 86400 };

/**
 * Parses a duration as rcutorture's kvm.sh does: a bare number is minutes,
 * and `s`, `m`, `h`, `d` suffixes give seconds, minutes, hours and days.
 */
export function parseDuration(text: string, flag = '--duration'): number {
  const match = /^(\d+)([smhd]?)$/.exec(text.trim());
  if (!match) {
    throw new KvmFarmError(
      'KVMFARM_BAD_ARGUMENT',
      `${flag} "${text}" is not a duration: use minutes (30) or a number with s, m, h or d (30s, 2h, 1d)`,
    );
  }
  const seconds = Number(match[1]) * UNIT_SECONDS[match[2] ?? '']!;
  if (!Number.isSafeInteger(seconds)) {
    throw new KvmFarmError('KVMFARM_BAD_ARGUMENT', `${flag} "${text}" is far too long: give at most a few days`);
  }
  if (seconds <= 0) {
    throw new KvmFarmError('KVMFARM_BAD_ARGUMENT', `${flag} "${text}" must be longer than zero`);
  }
  return seconds;
}

/** Formats seconds the short way a person reads them: 45s, 12m, 1h30m, 2d. */
export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return s % 60 === 0 ? `${s / 60}m` : `${Math.floor(s / 60)}m${s % 60}s`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (s < 86400) return m === 0 ? `${h}h` : `${h}h${m}m`;
  const d = Math.floor(s / 86400);
  const rh = Math.floor((s % 86400) / 3600);
  return rh === 0 ? `${d}d` : `${d}d${rh}h`;
}
