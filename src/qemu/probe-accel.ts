import { constants } from 'node:fs';
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { KvmFarmError } from '../util/errors.js';
import { ARCHES, type ArchName } from './arch.js';
import { childEnded, stopChild } from './child.js';
import { PROBE_EXIT_PORT, PROBE_EXIT_STATUS, PROBE_OK, probePayload } from './probe-payload.js';
import type { Accel } from './types.js';

import type { AccelRequest } from '../options/defaults.js';

export type { AccelRequest };

export interface AccelProbe {
  /** The accelerator to use: for `auto` the probe's choice, otherwise the one requested. */
  accel: Accel;
  /** One line saying why, for the run log and the `accel` file. */
  reason: string;
  /** Whether `accel` was seen to work (false for a forced kvm that the probe found broken). */
  usable: boolean;
  elapsedMs: number;
}

export interface ProbeAccelOptions {
  /** --qemu-cmd: the qemu binary instead of the architecture's. */
  qemuCmd?: string;
  arch?: ArchName;
  /** The KVM device; tests point it elsewhere. */
  kvmDevice?: string;
  /** Shortest time a KVM probe guest gets before it counts as not progressing. */
  minKvmMs?: number;
  /** Longest any probe guest gets. */
  maxGuestMs?: number;
}

/** What a probe says: the accelerator, whether it works, and why, in one line. */
export interface AccelChoice {
  accel: Accel;
  usable: boolean;
  reason: string;
}

/** How one probe guest went under one accelerator. */
export interface ProbeGuestOutcome {
  ok: boolean;
  ms: number;
  why: string;
}

/** Runs the probe payload under `accel` for at most `limitMs`: on this machine or over a host's connection. */
export type ProbeGuestRunner = (accel: Accel, limitMs: number) => Promise<ProbeGuestOutcome>;

/** Nothing to probe: tcg always works. */
export const TCG_REQUESTED: Readonly<AccelChoice> = { accel: 'tcg', usable: true, reason: 'tcg requested' };

/** kvm is not to be had: `auto` falls back to a working tcg, a forced kvm is unusable. */
export function accelUnavailable(request: 'auto' | 'kvm', why: string): AccelChoice {
  return request === 'auto' ? { accel: 'tcg', usable: true, reason: `${why}; using tcg` } : { accel: 'kvm', usable: false, reason: `kvm requested, but ${why}` };
}

/**
 * The KVM rule, wherever the guest runs: the kernel-free payload runs under TCG first
 * as a yardstick; KVM must finish it within max(minKvmMs, 2 x TCG's time), or it is no
 * better than emulation (on some hosts, nested ones, /dev/kvm opens but a KVM guest
 * crawls and never boots a kernel).
 */
export async function chooseAccel(request: AccelRequest, runGuest: ProbeGuestRunner, limits: { minKvmMs?: number | undefined; maxGuestMs?: number | undefined } = {}): Promise<AccelChoice> {
  if (request === 'tcg') return TCG_REQUESTED;
  const maxGuestMs = limits.maxGuestMs ?? 3000;
  const tcg = await runGuest('tcg', maxGuestMs);
  // Without a yardstick there is no working answer, not even tcg.
  if (!tcg.ok) return { ...accelUnavailable(request, `the tcg yardstick guest failed (${tcg.why}), so kvm cannot be judged`), usable: false };
  const limitMs = Math.min(maxGuestMs, Math.max(limits.minKvmMs ?? 1000, 2 * tcg.ms));
  const kvm = await runGuest('kvm', limitMs);
  if (!kvm.ok) return accelUnavailable(request, `the kvm probe guest ${kvm.why} (tcg ran it in ${seconds(tcg.ms)})`);
  return { accel: 'kvm', usable: true, reason: `kvm probe guest ran in ${seconds(kvm.ms)} (tcg: ${seconds(tcg.ms)})` };
}

/** qemu's words (after the binary) for the probe guest; `serial` is where its verdict is printed. */
export function probeGuestArgs(accel: Accel, payload: string, serial: string): string[] {
  return [
    '-accel', accel,
    '-machine', 'q35',
    '-cpu', accel === 'kvm' ? 'host' : 'qemu64',
    '-m', '64M',
    '-display', 'none',
    '-monitor', 'none',
    '-no-reboot',
    '-net', 'none',
    '-serial', serial,
    '-device', `isa-debug-exit,iobase=0x${PROBE_EXIT_PORT.toString(16)},iosize=0x04`,
    '-kernel', payload,
  ];
}

/**
 * Decide between KVM and TCG on this machine by running a guest, not by trusting
 * /dev/kvm (chooseAccel's rule).
 */
export async function probeAccel(request: AccelRequest, options: ProbeAccelOptions = {}): Promise<AccelProbe> {
  const started = Date.now();
  const done = (choice: Readonly<AccelChoice>): AccelProbe => ({ ...choice, elapsedMs: Date.now() - started });
  if (request === 'tcg') return done(TCG_REQUESTED);

  const device = options.kvmDevice ?? '/dev/kvm';
  try {
    const handle = await open(device, constants.O_RDWR);
    await handle.close();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? `${device} does not exist (no KVM on this host)` : `cannot open ${device}: ${code} (is this user in the kvm group?)`;
    return done(accelUnavailable(request, why));
  }

  const arch = ARCHES[options.arch ?? 'x86_64'];
  const binary = options.qemuCmd ?? arch.qemu;
  if (arch.name !== 'x86_64') {
    // No kernel-free probe guest for this architecture yet: an openable /dev/kvm is all we know.
    return done({ accel: 'kvm', usable: true, reason: `${device} opens; no probe guest for ${arch.name}` });
  }
  const dir = await mkdtemp(path.join(tmpdir(), 'kvmfarm-probe-'));
  try {
    const payload = path.join(dir, 'probe.img');
    await writeFile(payload, probePayload());
    return done(await chooseAccel(request, async (accel, limitMs) => {
      const outcome = await runProbeGuest(binary, accel, payload, dir, limitMs);
      if (outcome.missing) {
        throw new KvmFarmError('KVMFARM_QEMU_MISSING', `${binary} not found: install qemu (Debian: qemu-system-x86) or name the binary with --qemu-cmd`);
      }
      return outcome;
    }, options));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

interface ProbeGuestResult extends ProbeGuestOutcome {
  missing: boolean;
}

async function runProbeGuest(binary: string, accel: Accel, payload: string, dir: string, limitMs: number): Promise<ProbeGuestResult> {
  const log = path.join(dir, `${accel}.log`);
  const argv = probeGuestArgs(accel, payload, `file:${log}`);
  const started = Date.now();
  const child = execa(binary, argv, { stdin: 'ignore', stdout: 'ignore', stderr: 'pipe', reject: false, buffer: { stderr: true } });
  const ended = childEnded(child);
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([ended, new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), limitMs)))]);
  clearTimeout(timer);
  const ms = Date.now() - started;
  if (outcome === 'timeout') {
    const reaped = await stopChild(child, ended, 0, 5000);
    return { ok: false, missing: false, ms, why: `did not finish within ${seconds(limitMs)}${reaped ? '' : ' and outlived SIGKILL by 5 s'}` };
  }
  if (outcome.spawnError) return { ok: false, missing: /ENOENT/.test(outcome.spawnError), ms, why: outcome.spawnError };
  const printed = await readFile(log, 'utf8').catch(() => '');
  if (outcome.exitCode === PROBE_EXIT_STATUS && printed.includes(PROBE_OK)) return { ok: true, missing: false, ms, why: '' };
  const result = await child;
  const stderr = String(result.stderr ?? '').split('\n').find((l) => l.trim() !== '' && !/warning:/.test(l));
  return { ok: false, missing: false, ms, why: `exited with ${outcome.exitCode ?? outcome.signal}${stderr ? `: ${stderr.trim()}` : ''}` };
}
