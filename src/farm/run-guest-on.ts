import path from 'node:path';
import { notRunVerdict } from '../analyze/judge.js';
import type { KernelBanner } from '../build/kernel-banner.js';
import type { Refusal } from './safe-extract.js';
import type { Host } from '../transport/index.js';
import { SETTING } from '../qemu/build-command.js';
import { runGuest } from '../qemu/run-guest.js';
import type { Accel, GuestRun, QemuCommand } from '../qemu/types.js';
import type { InstanceResult } from '../report/types.js';
import { runRemoteGuest } from './remote-guest.js';

/** How one instance runs on its host. */
export interface PlacedInstance {
  /** The command as run there; for localhost the local one. */
  command: QemuCommand;
  /** Console file on the host; absent for localhost, whose runner writes the run directory directly. */
  remoteConsole?: string;
  banner?: KernelBanner;
}

export interface GuestOnHostInput {
  instance: string;
  host: Host;
  /** True for `localhost`: kvm-run's own runner, in place. */
  local: boolean;
  placed: PlacedInstance;
  runDir: string;
  /** The host's run tag, put in the guest's environment so a sweep can find it. */
  tag: string;
  durationSeconds: number;
  shutdownGraceSeconds: number;
  bootTimeoutSeconds: number;
  stopFile: string;
  onExit: () => void;
  onRefused: (refusals: Refusal[]) => void;
  signal?: AbortSignal;
  /** A new connection to the same boot of the host when the old one dropped, or null (remote guests only). */
  reattach?: (from: Host) => Promise<Host | null>;
  /** Follow a guest a dead coordinator started (resume): nothing is launched; deadlines count from `startedAt`. */
  follow?: { startedAt: number };
  /** Asked when the guest ends: another name for its console than console.log (remote guests only). */
  consoleAs?: () => string | undefined;
}

/** Runs one guest on its host, local or remote; resolves with one GuestRun whatever happened. */
export function runGuestOn(input: GuestOnHostInput): Promise<GuestRun> {
  const { placed, instance: id } = input;
  const dir = path.join(input.runDir, id);
  const common = {
    durationSeconds: input.durationSeconds,
    shutdownGraceSeconds: input.shutdownGraceSeconds,
    bootTimeoutSeconds: input.bootTimeoutSeconds,
    stopFile: input.stopFile,
    ...(input.signal ? { signal: input.signal } : {}),
  };
  if (input.local) {
    const started = Date.now();
    // runGuest rejects only for options it cannot use; the record says so instead, as runBatch's does.
    return runGuest({ instance: id, host: input.host.name, command: placed.command, dir, writeQemuCmd: false, ...common }).catch((error: unknown): GuestRun => ({
      instance: id, host: input.host.name, exitCode: null, signal: null, timedOut: false, noOutput: false, stopped: false,
      startError: error instanceof Error ? error.message : String(error), durationMs: Date.now() - started,
      logPath: path.join(dir, 'console.log'), token: placed.command.settings[SETTING.token] ?? '', accel: (placed.command.settings[SETTING.accel] ?? 'tcg') as Accel,
    })).finally(input.onExit);
  }
  return runRemoteGuest({
    instance: id, host: input.host, command: placed.command, remoteConsole: placed.remoteConsole!, localDir: dir, tag: input.tag,
    onExit: input.onExit, onRefused: input.onRefused, ...common,
    ...(input.reattach ? { reattach: input.reattach } : {}),
    ...(input.follow ? { follow: true, startedAt: input.follow.startedAt } : {}),
    ...(input.consoleAs ? { consoleAs: input.consoleAs } : {}),
  });
}

export function notRun(result: InstanceResult, why: string): void {
  result.verdict = notRunVerdict(result.instance, why);
}
