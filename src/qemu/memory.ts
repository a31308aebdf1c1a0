import { DEFAULTS } from '../options/defaults.js';
import { KvmFarmError } from '../util/errors.js';

/** rcutorture's TORTURE_QEMU_MEM default. */
export const DEFAULT_MEMORY = DEFAULTS.memory;

const UNIT_MIB: Record<string, number> = { '': 1, M: 1, G: 1024, T: 1024 * 1024 };

/**
 * Guest memory as qemu's `-m` takes it, from `512`, `512M`, `2G` or a number of MiB
 * (qemu reads a bare number as MiB too). Always returns `<n>M`.
 */
export function parseMemory(value: string | number | undefined): string {
  if (value === undefined) return DEFAULT_MEMORY;
  const text = String(value).trim();
  const match = /^(\d+)\s*([MGT]?)(?:i?B)?$/i.exec(text);
  const mib = match ? Number(match[1]) * UNIT_MIB[match[2]!.toUpperCase()]! : NaN;
  if (!Number.isSafeInteger(mib) || mib <= 0) {
    throw new KvmFarmError(
      'KVMFARM_BAD_ARGUMENT',
      `--memory "${text}" is not a memory size; write it like 512, 512M or 2G`,
    );
  }
  return `${mib}M`;
}
