import { createWriteStream, existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { constants as osConstants } from 'node:os';
import path from 'node:path';
import type { Refusal } from './safe-extract.js';
import type { Host } from '../transport/index.js';
import { SETTING } from '../qemu/build-command.js';
import { formatRetval, guestDeadline } from '../qemu/guest-end.js';
import { KernelOutputScan } from '../qemu/kernel-output.js';
import type { Accel, GuestRun, QemuCommand } from '../qemu/types.js';
import { INSTANCE_FILES } from '../rundir/layout.js';
import { collectResults } from './collect.js';
import { classifyGuestEnd, diskFull, freeKiB, startFault } from './infra-fault.js';
import { followWords, hostLimitSeconds, launchWords, parseBootId, parseGuestEnd, stopGuest, type GuestEnd } from './detached-guest.js';
import { taggedWords } from './sweep.js';

/** After a kill, how long the host may take to report the guest's end before it is given up on. */
const KILL_WAIT_MS = 30_000;
/** A console channel that keeps failing on a connection that stays up is given up on after this many new tries. */
const MAX_REATTACH = 20;

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
  /** Told the host's boot_id once the guest is started there (journal). */
  onLaunched?: (bootId: string | undefined) => void;
  /** Told when the console's channel dropped and a new connection is awaited. */
  onDetached?: (why: string) => void;
  /**
   * Called when the connection drops: resolves with a new connection to the same boot
   * of the host (the guest is followed on from where it was), or null to give it up.
   * Without it a dropped connection ends the attempt as lost, as before.
   */
  reattach?: (from: Host) => Promise<Host | null>;
  /** Follow a guest started earlier (a resumed run): it is launched only if it never was; its console is fetched from the start. */
  follow?: boolean;
  /** When the guest started (a resumed run's follow): its deadlines count from there. */
  startedAt?: number;
  /**
   * Asked once the guest has ended: the name its console is collected under when it
   * is not console.log (a lost attempt that came back, an extra attempt); qemu-output
   * and qemu-retval are then not written. The live stream follows a rename by itself.
   */
  consoleAs?: () => string | undefined;
}

type EndReason = 'exited' | 'noOutput' | 'timedOut' | 'stopped';

/**
 * One guest on a host, with runGuest's rules (boot limit, duration plus grace, quiet
 * console, STOP, abort). The guest runs detached on the host (detached-guest.ts); its
 * console streams into the local run directory over a follower channel, which is
 * opened again from the byte it stopped at when a connection drops and `reattach`
 * hands over a new one. Once qemu ends the host's copy is fetched whole (as a
 * tarball, unpacked with safeExtract), so console.log is exact.
 * Resolves with one GuestRun whatever happened, a lost host included.
 */
export async function runRemoteGuest(options: RemoteGuestOptions): Promise<GuestRun> {
  const { command, localDir } = options;
  let host = options.host;
  const consoleLog = path.join(localDir, INSTANCE_FILES.consoleLog);
  const remoteDir = path.posix.dirname(options.remoteConsole);
  const token = command.settings[SETTING.token] ?? '';
  const accel = (command.settings[SETTING.accel] ?? 'tcg') as Accel;
  const quietS = options.quietSeconds ?? 10;
  let started = Date.now();
  const base = { instance: options.instance, host: host.name, logPath: path.join(localDir, INSTANCE_FILES.consoleLog), token, accel };
  const failed = (why: string): GuestRun => {
    options.onExit?.();
    return { ...base, exitCode: null, signal: null, timedOut: false, noOutput: false, stopped: false, startError: `${host.name}: ${why}`, durationMs: Date.now() - started };
  };

  // Launching is idempotent: a followed guest (resume) is started only if the dead coordinator never got to it.
  try {
    const limit = hostLimitSeconds(options);
    const words = launchWords(remoteDir, limit, command.argv);
    const launched = await host.run(options.tag ? taggedWords(options.tag, words) : words, { timeoutMs: 60_000 });
    if (launched.exitCode !== 0) return await startFault(host, remoteDir, failed(`could not start the guest: ${firstLines(launched.stderr) || `exit ${launched.exitCode ?? launched.signal}`}`));
    // A guest already there keeps its deadlines from when it was placed.
    if (/^existing$/m.test(launched.stdout) && options.startedAt !== undefined) started = options.startedAt;
    options.onLaunched?.(parseBootId(launched.stdout));
  } catch (error) {
    return failed((error as Error).message);
  }
  // A resumed follow starts at byte 0 too: the host's console is the whole truth.
  const live = createWriteStream(consoleLog);
  const kernel = new KernelOutputScan();
  let lastGrowth = Date.now();
  let offset = 0;

  let reason = 'exited' as EndReason;
  let killedAt = 0;
  let waiting = false;
  let giveUp: () => void = () => {};
  const abandoned = new Promise<null>((resolve) => (giveUp = () => resolve(null)));
  const kill = (signal: 'TERM' | 'KILL'): void => {
    killedAt ||= Date.now();
    void stopGuest(host, remoteDir, signal);
  };
  const decide = (): void => {
    if (waiting) return;
    // A host that neither ends the guest nor drops the connection must not hold the run forever.
    if (killedAt && Date.now() - killedAt > KILL_WAIT_MS) giveUp();
    if (reason !== 'exited') return;
    const now = Date.now();
    const elapsedS = (now - started) / 1000;
    if (options.signal?.aborted || existsSync(options.stopFile)) {
      reason = 'stopped';
      kill('TERM');
      setTimeout(() => kill('KILL'), (options.termGraceSeconds ?? 3) * 1000).unref();
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
      kill('KILL');
    }
  };
  // Deadlines are checked each second; the guest's end itself arrives as the channel's exit event.
  const timer = setInterval(decide, 1000);
  options.signal?.addEventListener('abort', decide);
  let end: GuestEnd | undefined;
  let lost: string | null = null;
  let reattached = 0;
  try {
    for (;;) {
      let stderr: Buffer[] = [];
      try {
        const handle = await host.spawn(followWords(remoteDir, offset));
        handle.stdin.end();
        handle.stdout.on('data', (chunk: Buffer) => {
          live.write(chunk);
          offset += chunk.length;
          lastGrowth = Date.now();
          kernel.feed(chunk);
        });
        stderr = [];
        handle.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
        const status = await Promise.race([handle.exited, abandoned]);
        // The channel can report its end a moment before the last of its output has been read.
        await Promise.race([Promise.all([ended(handle.stdout), ended(handle.stderr)]), new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
        if (!status) {
          lost = `${host.name}: qemu was still running ${KILL_WAIT_MS / 1000} s after it was killed`;
          break;
        }
        end = parseGuestEnd(Buffer.concat(stderr).toString('utf8'));
        if (!end.truncated) break;
        // The follower was cut off without its last line: the same as a dropped connection.
        throw new Error(`the console's channel ended early (${status.exitCode ?? status.signal})`);
      } catch (error) {
        end = undefined;
        if (!options.reattach || options.signal?.aborted) {
          lost = `${host.name}: ${(error as Error).message}`;
          break;
        }
        waiting = true;
        options.onDetached?.((error as Error).message);
        const next = ++reattached > MAX_REATTACH ? null : await options.reattach(host);
        waiting = false;
        if (!next) {
          lost = `${host.name}: ${(error as Error).message}`;
          break;
        }
        host = next;
        lastGrowth = Date.now();
        if (killedAt) killedAt = Date.now();
      }
    }
  } finally {
    clearInterval(timer);
    options.signal?.removeEventListener('abort', decide);
    options.onExit?.();
    await new Promise<void>((resolve) => live.end(resolve));
  }
  const durationMs = Date.now() - started;
  const consoleAs = options.consoleAs?.();
  let exitCode: number | null = null;
  let signal: string | null = null;
  if (!lost && end) {
    // On a full disk the session cannot write qemu's status: that is the disk's fault, found below, not a lost guest.
    if (end.status === null && !killedAt && !(await diskFull(host, remoteDir))) lost = `${host.name}: the guest's session ended without leaving qemu's status (killed on the host?)`;
    else if (end.status !== null) ({ exitCode, signal } = fromShell(end.status, null));
  }
  if (!lost) {
    const collected = await collectResults(host, remoteDir, localDir, consoleAs);
    if (collected.refused.length > 0) options.onRefused?.(collected.refused);
  }
  const qemuOutput = end?.output ?? '';
  // A lost attempt's files would land beside its rerun's: only its partial console is kept (renamed by the coordinator).
  // Killed by us, the session had no chance to write qemu's status: the record says SIGKILL, as runGuest's would.
  if (exitCode === null && signal === null && !lost) signal = 'SIGKILL';
  if (!lost && !consoleAs) {
    await writeFile(path.join(localDir, INSTANCE_FILES.qemuOutput), qemuOutput);
    await writeFile(path.join(localDir, INSTANCE_FILES.qemuRetval), `${formatRetval(exitCode, signal)}\n`);
  }
  let startError = lost;
  if (!startError && reason === 'exited' && exitCode !== 0 && offset === 0) {
    startError = firstLines(qemuOutput) || `qemu exited with status ${exitCode} on ${host.name} before writing any console output`;
  }
  const endSignal = signal ?? (exitCode === null && !lost ? 'SIGKILL' : null);
  // A lost host is the fleet's business; a stopped guest was ended on purpose.
  const consoleDir = path.posix.dirname(options.remoteConsole);
  const infraFault = lost || reason === 'stopped' ? null : classifyGuestEnd({
    host: host.name, exitCode, signal: endSignal, killedByUs: reason !== 'exited', startError, qemuOutput, consoleBytes: offset,
    freeKiB: await freeKiB(host, consoleDir), consoleDir,
  });
  return {
    ...base,
    ...(infraFault ? { infraFault } : {}),
    host: host.name,
    exitCode,
    signal: endSignal,
    timedOut: reason === 'timedOut',
    noOutput: reason === 'noOutput',
    stopped: reason === 'stopped',
    startError,
    durationMs,
    startedAt: new Date(started).toISOString(),
  };
}

/** Resolves when a stream has ended (or at once if it has). */
function ended(stream: NodeJS.ReadableStream & { readableEnded?: boolean }): Promise<void> {
  return stream.readableEnded ? Promise.resolve() : new Promise((resolve) => {
    stream.once('end', () => resolve());
    stream.once('close', () => resolve());
  });
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
