import type { Verdict } from '../analyze/types.js';
import type { GuestRun, InfraFault, InfraFaultKind } from '../qemu/types.js';
import type { Host } from '../transport/index.js';
import type { InstanceResult } from '../report/types.js';
import { printable } from '../util/printable.js';
import type { Attempt } from './requeue.js';

/**
 * Faults of the host, not of the kernel: qemu killed or crashing there, a disk too
 * full to hold the console, qemu missing. A guest that met one is never judged; its
 * instance runs again elsewhere within --retries, and summary.json names the fault.
 * Pure rules here; the scheduler does the queueing and the files.
 */

/** Below this much free space where the console is written, the console cannot be trusted to be whole. */
export const DISK_FULL_BELOW_KIB = 64;

/** Faults that stay with the host: it takes no more work this run. The others may have been one-offs (OOM killer). */
const HOST_FAULTS: readonly InfraFaultKind[] = ['disk-full', 'qemu-missing'];

export interface GuestEndFacts {
  host: string;
  exitCode: number | null;
  signal: string | null;
  /** kvm-farm itself ended the guest (deadline, quiet console, STOP, interrupt). */
  killedByUs: boolean;
  startError: string | null;
  /** qemu's own output (stderr) on the host. */
  qemuOutput: string;
  /** Console bytes that arrived. */
  consoleBytes: number;
  /** KiB free where the console is written, measured after qemu ended; null when unknown. */
  freeKiB: number | null;
  consoleDir: string;
}

/** The infrastructure fault a guest's end shows, or null when it is the kernel's to judge. */
export function classifyGuestEnd(f: GuestEndFacts): InfraFault | null {
  const said = firstWords(f.qemuOutput);
  if (f.freeKiB !== null && f.freeKiB < DISK_FULL_BELOW_KIB) {
    return { kind: 'disk-full', detail: `${f.host}: ${f.freeKiB} KiB free in ${f.consoleDir} after qemu ended, so its console may be cut short` };
  }
  if (/No space left on device/i.test(f.qemuOutput)) return { kind: 'disk-full', detail: `${f.host}: ${said}` };
  if (f.exitCode === 127 || (f.consoleBytes === 0 && /(not found|No such file or directory)/i.test(said) && f.exitCode !== 0)) {
    return { kind: 'qemu-missing', detail: `${f.host}: qemu could not be run: ${said || `exit ${f.exitCode}`}` };
  }
  if (f.startError) return { kind: 'qemu-start-failed', detail: f.startError };
  if (f.signal && !f.killedByUs) {
    return f.signal === 'SIGKILL'
      ? { kind: 'qemu-killed', detail: `${f.host}: qemu was killed by SIGKILL, not by kvm-farm (the OOM killer or a person on the host)` }
      : { kind: 'qemu-crashed', detail: `${f.host}: qemu ended with ${f.signal}${said ? `: ${said}` : ''}` };
  }
  return null;
}

/** A fault that stays with the host (no more work goes there this run). */
export function faultStaysWithHost(fault: InfraFault): boolean {
  return HOST_FAULTS.includes(fault.kind);
}

/**
 * The failure of receiving kernels, named as a full disk when the host said so or its
 * file system is (nearly) full now: tar reports a short write ("Wrote only 7168 of
 * 10240 bytes") rather than ENOSPC, so the free space is what tells.
 */
export function describeShipFailure(message: string, free: { kib: number | null; dir: string } = { kib: null, dir: '' }): string {
  if (free.kib !== null && free.kib < DISK_FULL_BELOW_KIB) return `disk-full while receiving kernels (${free.kib} KiB free in ${free.dir}): ${message}`;
  return /No space left on device/i.test(message) ? `disk-full while receiving kernels: ${message}` : message;
}

/** KiB free in the file system holding `dir` on the host; null when df does not answer. */
export async function freeKiB(host: Host, dir: string): Promise<number | null> {
  const df = await host.run(['df', '-Pk', '--', dir], { timeoutMs: 20_000 }).catch(() => null);
  if (!df || df.exitCode !== 0) return null;
  const available = Number(df.stdout.trim().split('\n')[1]?.trim().split(/\s+/)[3]);
  return Number.isFinite(available) ? available : null;
}

/** True when the file system holding `dir` on the host is (nearly) full. */
export async function diskFull(host: Host, dir: string): Promise<boolean> {
  const free = await freeKiB(host, dir);
  return free !== null && free < DISK_FULL_BELOW_KIB;
}

/** A guest that could not be started on a host that answers: the fault it shows (a full disk, a missing qemu, ...). */
export async function startFault(host: Host, dir: string, guest: GuestRun): Promise<GuestRun> {
  const infraFault = classifyGuestEnd({
    host: host.name, exitCode: guest.exitCode, signal: guest.signal, killedByUs: false, startError: guest.startError, qemuOutput: guest.startError ?? '',
    consoleBytes: 0, freeKiB: await freeKiB(host, dir), consoleDir: dir,
  });
  return infraFault ? { ...guest, infraFault } : guest;
}

export interface InfraDecision {
  ledger: Attempt[];
  /** The faulted attempt's console is kept under this name beside the rerun's. */
  console: string;
  /** Set when the instance runs again: hosts it should avoid. */
  requeue?: { attempt: number; avoidHosts: string[] };
  /** Set when --retries is used up: the instance's verdict. */
  giveUp?: Verdict;
}

/**
 * What to do after attempt `attempt` of `instance` met `fault` on `host`: the attempt
 * ends as `infra`; the instance runs again (away from the hosts it failed on) while
 * its failed attempts, lost or infra, are at most `retries`; else an infra-error.
 */
export function decideAfterInfraFault(ledger: readonly Attempt[], instance: string, attempt: number, host: string, fault: InfraFault, retries: number): InfraDecision {
  const next = ledger.map((a) => (a.instance === instance && a.attempt === attempt ? { ...a, outcome: 'infra' as const } : a));
  const failed = next.filter((a) => a.instance === instance && (a.outcome === 'lost' || a.outcome === 'infra'));
  const console = infraConsoleName(host, attempt);
  if (failed.length <= retries) {
    const nextAttempt = Math.max(0, ...next.filter((a) => a.instance === instance).map((a) => a.attempt)) + 1;
    return { ledger: next, console, requeue: { attempt: nextAttempt, avoidHosts: [...new Set(failed.map((a) => a.host))] } };
  }
  const where = failed.map((a) => `${a.host} (attempt ${a.attempt})`).join(', ');
  return {
    ledger: next,
    console,
    giveUp: {
      instance,
      kind: 'infra-error',
      reasons: [`${fault.kind}: ${fault.detail}`, `${failed.length} attempts failed on the hosts: ${where}; --retries ${retries} used up, so the kernel was never judged`],
      quoted: [],
    },
  };
}

/** `console.log.infra-f2-1`: the console of attempt 1, ended by a fault of host f2. */
export function infraConsoleName(host: string, attempt: number): string {
  const safe = host.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^\.+/, '_');
  return `console.log.infra-${safe}-${attempt}`;
}

/** Writes the fault into the instance's record: summary.json's `infraFaults`, and a warning a person reads. */
export function recordInfraFault(result: InstanceResult, host: string, attempt: number, fault: InfraFault, rerun: boolean): void {
  result.infraFaults = [...(result.infraFaults ?? []), { host, attempt, kind: fault.kind, detail: fault.detail }];
  const what = rerun ? `rerun after ${fault.kind} on ${host} (attempt ${attempt})` : `gave up after ${fault.kind} on ${host} (attempt ${attempt})`;
  result.warnings = [...result.warnings, what, `console of that attempt kept as ${infraConsoleName(host, attempt)}`];
}

function firstWords(text: string): string {
  const line = text.split('\n').map((l) => l.trim()).find((l) => l !== '' && !l.startsWith('(qemu)')) ?? '';
  return line ? printable(line, 200) : '';
}
