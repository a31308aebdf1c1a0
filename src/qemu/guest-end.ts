import { constants as osConstants } from 'node:os';

export interface DeadlineInput {
  /** Seconds since the guest started. */
  elapsedS: number;
  /** Seconds since its console last grew. */
  quietForS: number;
  /** Whether the console has shown kernel output yet. */
  kernelSeen: boolean;
  bootS: number;
  durationS: number;
  graceS: number;
  /** Past duration plus grace, a console quiet this long means hung. */
  quietS: number;
  /** Past duration plus grace, the guest is hung after this long even while it still prints. */
  overtimeS: number;
}

/**
 * The one rule a guest is cut short by, wherever it runs: silent past the boot limit is
 * no-boot; past duration plus grace with a quiet console (or far past it) is hung.
 */
export function guestDeadline(d: DeadlineInput): 'noOutput' | 'timedOut' | undefined {
  if (!d.kernelSeen && d.elapsedS >= d.bootS) return 'noOutput';
  const limitS = d.durationS + d.graceS;
  if (d.elapsedS >= limitS && (d.quietForS >= d.quietS || d.elapsedS >= limitS + d.overtimeS)) return 'timedOut';
  return undefined;
}

/** What sh's `wait` reports, which rcutorture's scripts put in qemu-retval: 128 + signal number when killed. */
export function formatRetval(exitCode: number | null, signal: string | null): string {
  if (exitCode !== null) return String(exitCode);
  const number = signal ? (osConstants.signals as Record<string, number>)[signal] : undefined;
  return number === undefined ? '' : String(128 + number);
}
