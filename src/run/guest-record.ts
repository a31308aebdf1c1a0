import { printable } from '../util/printable.js';
import type { Accel, GuestRun } from '../qemu/types.js';
import { KvmFarmError } from '../util/errors.js';

/** A guest.json checked field by field; the console is always the instance's own, whatever logPath says. */
export function parseGuestRecord(text: string, file: string, id: string, consoleLog: string): GuestRun {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new KvmFarmError('KVMFARM_NOT_A_RUNDIR', `${printable(file)} is not valid JSON (${printable((error as Error).message)})`);
  }
  const g = raw as Record<string, unknown>;
  const bad = (field: string): never => {
    throw new KvmFarmError('KVMFARM_NOT_A_RUNDIR', `${printable(file)} is not a guest record: field "${field}" is missing or of the wrong type`);
  };
  if (typeof g !== 'object' || g === null || Array.isArray(g)) bad('(the whole record)');
  const num = (f: string) => (g[f] === null || (typeof g[f] === 'number' && Number.isFinite(g[f])) ? (g[f] as number | null) : bad(f));
  const str = (f: string) => (typeof g[f] === 'string' ? (g[f] as string) : bad(f));
  const strOrNull = (f: string) => (g[f] === null || typeof g[f] === 'string' ? (g[f] as string | null) : bad(f));
  const bool = (f: string) => (typeof g[f] === 'boolean' ? (g[f] as boolean) : bad(f));
  const accel = str('accel');
  if (accel !== 'kvm' && accel !== 'tcg') bad('accel');
  const durationMs = num('durationMs');
  return {
    instance: id,
    host: str('host'),
    exitCode: num('exitCode'),
    signal: strOrNull('signal'),
    timedOut: bool('timedOut'),
    noOutput: bool('noOutput'),
    stopped: bool('stopped'),
    startError: strOrNull('startError'),
    durationMs: durationMs ?? 0,
    logPath: consoleLog,
    token: str('token'),
    accel: accel as Accel,
  };
}
