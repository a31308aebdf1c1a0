import { createWriteStream, existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { constants as osConstants } from 'node:os';
import path from 'node:path';
import type { Refusal } from './safe-extract.js';
import type { Host, SpawnHandle } from '../transport/index.js';
import { SETTING } from '../qemu/build-command.js';
import { formatRetval, guestDeadline } from '../qemu/guest-end.js';
import { KernelOutputScan } from '../qemu/kernel-output.js';
import type { Accel, GuestRun, QemuCommand } from '../qemu/types.js';
import { INSTANCE_FILES } from '../rundir/layout.js';
import { collectResults } from './collect.js';
import { classifyGuestEnd, freeKiB } from './infra-fault.js';
import { taggedWords } from './sweep.js';

/**
 * Runs qemu in the background and follows its console file on stdout until qemu
 * ends, then exits with qemu's status: one channel carries the live console, qemu's
 * own output (stderr) and the end of the guest. The instance directory is made here,
 * as the guest is placed on a host only when it starts. A fixed script: the console
 * path is $1, the qemu words follow it.
 */
export const GUEST_SCRIPT =
  'c=$1; shift; mkdir -p -- "${c%/*}" || exit 1; "$@" </dev/null >&2 2>&1 & q=$!; ' +
  'tail -s 0.1 -c +1 -F --pid=$q -- "$c" 2>/dev/null; wait $q';

/** After a kill, how long the host may take to report the guest's end before it is given up on. */
const KILL_WAIT_MS = 30_000;

export interface RemoteGuestOptions {
  instance: string;
  host: Host;
  /** The command as it runs on the host (remote kernel and console paths). */
  command: QemuCommand;
  /** Console file on the host. */
  remoteConsole: string;
  /** The instance's directory in the local run directory: console.log, qemu-output, qemu-retval land here. */
  localDir: string;
  durationSeconds: number;
  shutdownGraceSeconds: number;
  bootTimeoutSeconds: number;
  /** Past duration plus grace, a console quiet this long means hung. Default 10 (runGuest's). */
  quietSeconds?: number;
  /** The host's run tag, in the guest's environment so a sweep finds whatever it started. */
  tag?: string;
  /** The local run's STOP file: its appearance stops the guest. */
  stopFile: string;
  signal?: AbortSignal;
  termGraceSeconds?: number;
  /** Called the moment qemu has ended on the host, before its console is fetched: the host has room again. */
  onExit?: () => void;
  /** Told about every entry of the host's result tarball that was refused. */
  onRefused?: (refusals: Refusal[]) => void;
}

type EndReason = 'exited' | 'noOutput' | 'timedOut' | 'stopped';

/**
 * One guest on a host, with runGuest's rules (boot limit, duration plus grace, quiet
 * console, STOP, abort). The console streams into the local run directory as it is
 * written; once qemu ends the host's copy is fetched whole (as a tarball, unpacked
 * with safeExtract), so console.log is exact.
 * Resolves with one GuestRun whatever happened, a lost host included.
 */
export async function runRemoteGuest(options: RemoteGuestOptions): Promise<GuestRun> {
  const { host, command, localDir } = options;
  const consoleLog = path.join(localDir, INSTANCE_FILES.consoleLog);
  const token = command.settings[SETTING.token] ?? '';
  const accel = (command.settings[SETTING.accel] ?? 'tcg') as Accel;
  const quietS = options.quietSeconds ?? 10;
  const started = Date.now();
  const base = { instance: options.instance, host: host.name, logPath: consoleLog, token, accel };

  let handle: SpawnHandle;
  try {
    const words = ['sh', '-c', GUEST_SCRIPT, 'sh', options.remoteConsole, ...command.argv];
    handle = await host.spawn(options.tag ? taggedWords(options.tag, words) : words, { cpus: guestCpus(command.argv) });
  } catch (error) {
    options.onExit?.();
    return { ...base, exitCode: null, signal: null, timedOut: false, noOutput: false, stopped: false, startError: `${host.name}: ${(error as Error).message}`, durationMs: Date.now() - started };
  }
  handle.stdin.end();
  const live = createWriteStream(consoleLog);
  const output: Buffer[] = [];
  const kernel = new KernelOutputScan();
  let lastGrowth = started;
  let bytes = 0;
  handle.stdout.on('data', (chunk: Buffer) => {
    live.write(chunk);
    bytes += chunk.length;
    lastGrowth = Date.now();
    kernel.feed(chunk);
  });
  handle.stderr.on('data', (chunk: Buffer) => output.push(chunk));

  let reason = 'exited' as EndReason;
  let killedAt = 0;
  let giveUp: () => void = () => {};
  const abandoned = new Promise<null>((resolve) => (giveUp = () => resolve(null)));
  const kill = (signal: string): void => {
    handle.kill(signal);
    killedAt ||= Date.now();
  };
  const decide = (): void => {
    // A host that neither ends the guest nor drops the connection must not hold the run forever.
    if (killedAt && Date.now() - killedAt > KILL_WAIT_MS) giveUp();
    if (reason !== 'exited') return;
    const now = Date.now();
    const elapsedS = (now - started) / 1000;
    if (options.signal?.aborted || existsSync(options.stopFile)) {
      reason = 'stopped';
      kill('SIGTERM');
      setTimeout(() => kill('SIGKILL'), (options.termGraceSeconds ?? 3) * 1000).unref();
      return;
    }
    const cut = guestDeadline({
      elapsedS,
      quietForS: (now - lastGrowth) / 1000,
      kernelSeen: kernel.seen,
      bootS: options.bootTimeoutSeconds,
      durationS: options.durationSeconds,
      graceS: options.shutdownGraceSeconds,
      quietS,
      overtimeS: options.shutdownGraceSeconds,
    });
    if (cut) {
      reason = cut;
      kill('SIGKILL');
    }
  };
  // Deadlines are checked each second; the guest's end itself arrives as the channel's exit event.
  const timer = setInterval(decide, 1000);
  options.signal?.addEventListener('abort', decide);
  let exitCode: number | null = null;
  let signal: string | null = null;
  let lost: string | null = null;
  try {
    const status = await Promise.race([handle.exited, abandoned]);
    if (status) ({ exitCode, signal } = fromShell(status.exitCode, status.signal));
    else lost = `${host.name}: qemu was still running ${KILL_WAIT_MS / 1000} s after it was killed`;
  } catch (error) {
    lost = `${host.name}: ${(error as Error).message}`;
  } finally {
    clearInterval(timer);
    options.signal?.removeEventListener('abort', decide);
    options.onExit?.();
    await new Promise<void>((resolve) => live.end(resolve));
  }
  const durationMs = Date.now() - started;
  if (!lost) {
    const collected = await collectResults(host, path.posix.dirname(options.remoteConsole), localDir);
    if (collected.refused.length > 0) options.onRefused?.(collected.refused);
  }
  const qemuOutput = Buffer.concat(output).toString('utf8');
  // A lost attempt's files would land beside its rerun's: only its partial console is kept (renamed by the coordinator).
  if (!lost) {
    await writeFile(path.join(localDir, INSTANCE_FILES.qemuOutput), qemuOutput);
    await writeFile(path.join(localDir, INSTANCE_FILES.qemuRetval), `${formatRetval(exitCode, signal)}\n`);
  }
  let startError = lost;
  if (!startError && reason === 'exited' && exitCode !== 0 && bytes === 0) {
    startError = firstLines(qemuOutput) || `qemu exited with status ${exitCode} on ${host.name} before writing any console output`;
  }
  const endSignal = signal ?? (exitCode === null && !lost ? 'SIGKILL' : null);
  // A lost host is the fleet's business; a stopped guest was ended on purpose.
  const consoleDir = path.posix.dirname(options.remoteConsole);
  const infraFault = lost || reason === 'stopped' ? null : classifyGuestEnd({
    host: host.name, exitCode, signal: endSignal, killedByUs: reason !== 'exited', startError, qemuOutput, consoleBytes: bytes,
    freeKiB: await freeKiB(host, consoleDir), consoleDir,
  });
  return {
    ...base,
    ...(infraFault ? { infraFault } : {}),
    exitCode,
    signal: endSignal,
    timedOut: reason === 'timedOut',
    noOutput: reason === 'noOutput',
    stopped: reason === 'stopped',
    startError,
    durationMs,
  };
}

/** The guest's vCPUs (`-smp N` or `-smp cpus=N,...`): what a cluster host reserves for its step. */
export function guestCpus(argv: string[]): number {
  const value = argv[argv.lastIndexOf('-smp') + 1] ?? '';
  const n = Number(/^(?:cpus=)?(\d+)/.exec(value)?.[1] ?? /(?:^|,)cpus=(\d+)/.exec(value)?.[1] ?? 1);
  return argv.includes('-smp') && n >= 1 ? n : 1;
}

/** sh reports a killed qemu as 128 + signal; the record wants the signal's name, as runGuest gives it. */
function fromShell(code: number | null, signal: string | null): { exitCode: number | null; signal: string | null } {
  if (code !== null && code > 128) {
    const name = Object.entries(osConstants.signals).find(([, n]) => n === code - 128)?.[0];
    if (name) return { exitCode: null, signal: name };
  }
  return { exitCode: code, signal };
}

function firstLines(text: string): string {
  return text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('(qemu)') && !/^QEMU .* monitor/.test(l)).slice(0, 3).join(' | ');
}
