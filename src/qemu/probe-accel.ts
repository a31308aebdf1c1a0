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

/**
 * Decide between KVM and TCG by running a guest, not by trusting /dev/kvm: on some
 * hosts (nested, this one) /dev/kvm opens but a KVM guest crawls inside the host kernel
 * and never boots a kernel. The same kernel-free payload runs under TCG first as a yardstick;
 * KVM must finish it within max(minKvmMs, 2 x TCG's time), or it is no better than emulation.
 */
export async function probeAccel(request: AccelRequest, options: ProbeAccelOptions = {}): Promise<AccelProbe> {
  const started = Date.now();
  const done = (accel: Accel, usable: boolean, reason: string): AccelProbe => ({
    accel,
    usable,
    reason,
    elapsedMs: Date.now() - started,
  });
  if (request === 'tcg') return done('tcg', true, 'tcg requested');
  const fallback = request === 'auto' ? 'tcg' : 'kvm';
  // Falling back to tcg is a working answer; a forced kvm that failed is not.
  const fallbackUsable = request === 'auto';
  const say = (why: string) => (request === 'auto' ? `${why}; using tcg` : `kvm requested, but ${why}`);

  const device = options.kvmDevice ?? '/dev/kvm';
  try {
    const handle = await open(device, constants.O_RDWR);
    await handle.close();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? `${device} does not exist (no KVM on this host)` : `cannot open ${device}: ${code} (is this user in the kvm group?)`;
    return done(fallback, fallbackUsable, say(why));
  }

  const arch = ARCHES[options.arch ?? 'x86_64'];
  const binary = options.qemuCmd ?? arch.qemu;
  if (arch.name !== 'x86_64') {
    // No kernel-free probe guest for this architecture yet: an openable /dev/kvm is all we know.
    return done('kvm', true, `${device} opens; no probe guest for ${arch.name}`);
  }
  const maxGuestMs = options.maxGuestMs ?? 3000;
  const dir = await mkdtemp(path.join(tmpdir(), 'kvmfarm-probe-'));
  try {
    const payload = path.join(dir, 'probe.img');
    await writeFile(payload, probePayload());
    const tcg = await runProbeGuest(binary, 'tcg', payload, dir, maxGuestMs);
    if (tcg.missing) {
      throw new KvmFarmError('KVMFARM_QEMU_MISSING', `${binary} not found: install qemu (Debian: qemu-system-x86) or name the binary with --qemu-cmd`);
    }
    if (!tcg.ok) return done(fallback, false, say(`the tcg yardstick guest failed (${tcg.why}), so kvm cannot be judged`));
    const limitMs = Math.min(maxGuestMs, Math.max(options.minKvmMs ?? 1000, 2 * tcg.ms));
    const kvm = await runProbeGuest(binary, 'kvm', payload, dir, limitMs);
    if (!kvm.ok) return done(fallback, fallbackUsable, say(`the kvm probe guest ${kvm.why} (tcg ran it in ${seconds(tcg.ms)})`));
    return done('kvm', true, `kvm probe guest ran in ${seconds(kvm.ms)} (tcg: ${seconds(tcg.ms)})`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

interface ProbeGuestResult {
  ok: boolean;
  missing: boolean;
  ms: number;
  why: string;
}

async function runProbeGuest(binary: string, accel: Accel, payload: string, dir: string, limitMs: number): Promise<ProbeGuestResult> {
  const log = path.join(dir, `${accel}.log`);
  const argv = [
    '-accel', accel,
    '-machine', 'q35',
    '-cpu', accel === 'kvm' ? 'host' : 'qemu64',
    '-m', '64M',
    '-display', 'none',
    '-monitor', 'none',
    '-no-reboot',
    '-net', 'none',
    '-serial', `file:${log}`,
    '-device', `isa-debug-exit,iobase=0x${PROBE_EXIT_PORT.toString(16)},iosize=0x04`,
    '-kernel', payload,
  ];
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
