import { DEFAULTS } from '../options/defaults.js';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { KvmFarmError } from '../util/errors.js';
import { DEFAULT_SHUTDOWN_GRACE_SECONDS, SETTING, consoleLogOf } from './build-command.js';
import { childEnded, sleep, stopChild, type ChildEnd } from './child.js';
import { ConsoleWatch } from './console-watch.js';
import { formatRetval, guestDeadline } from './guest-end.js';
import { formatQemuCmdFile } from './qemu-cmd-file.js';
import type { Accel, GuestRun, QemuCommand } from './types.js';

/** Names of the files runGuest writes in the scenario directory (rundir's INSTANCE_FILES agree). */
export const GUEST_FILES = { qemuCmd: 'qemu-cmd', qemuOutput: 'qemu-output', qemuRetval: 'qemu-retval' } as const;

export interface RunGuestOptions {
  /** Scenario instance name (`TINY01.2`). */
  instance: string;
  /** Where it runs, for the record; `localhost` unless told. */
  host?: string;
  /** What to run; its settings supply the token, accel, duration and grace. */
  command: QemuCommand;
  /** The scenario's directory: qemu-cmd, qemu-output and qemu-retval are written here. */
  dir: string;
  /** Console file to watch; the command's `-serial file:` unless told. */
  consoleLog?: string;
  /** Test duration; the command's `seconds` setting unless told. */
  durationSeconds?: number;
  /** Seconds past the duration before a quiet guest counts as hung; TORTURE_SHUTDOWN_GRACE, else 180. */
  shutdownGraceSeconds?: number;
  /** A guest whose kernel has printed nothing by then is killed as no-boot. Default 60. */
  bootTimeoutSeconds?: number;
  /** Past duration plus grace, a console quiet for this long means hung. Default 10, as rcutorture checks. */
  quietSeconds?: number;
  /** Past duration plus grace, a console that keeps growing is still killed after this much more. Default: the grace. */
  maxOvertimeSeconds?: number;
  /** A file whose appearance stops the guest; the run directory's STOP (`<dir>/../STOP`) unless told. */
  stopFile?: string;
  /** Aborting stops the guest, as the STOP file does. */
  signal?: AbortSignal;
  /** CPU list for `taskset -c` (`0-1`), pinning the guest's threads. */
  affinity?: string;
  /** Write `qemu-cmd` before launch (default true); false when the caller already has. */
  writeQemuCmd?: boolean;
  /** Between SIGTERM and SIGKILL when stopping. Default 3. */
  termGraceSeconds?: number;
  /** How often the console and STOP file are checked, in ms. Default 1000. */
  pollMs?: number;
}

type EndReason = 'exited' | 'noOutput' | 'timedOut' | 'stopped';

/**
 * Boot one guest and watch it until it ends, is stopped, or is judged dead. Resolves
 * with one GuestRun whatever happened; rejects only when the options make no sense.
 */
export async function runGuest(options: RunGuestOptions): Promise<GuestRun> {
  const { command, dir } = options;
  const settings = command.settings;
  const consoleLog = path.resolve(options.consoleLog ?? consoleLogOf(command) ?? fail('the qemu command has no -serial file:PATH console'));
  const durationS = options.durationSeconds ?? numberSetting(settings, SETTING.seconds);
  const graceS = options.shutdownGraceSeconds ?? numberSetting(settings, SETTING.grace, DEFAULT_SHUTDOWN_GRACE_SECONDS);
  const bootS = options.bootTimeoutSeconds ?? DEFAULTS.bootTimeoutSeconds;
  const quietS = options.quietSeconds ?? 10;
  const overtimeS = options.maxOvertimeSeconds ?? graceS;
  const termGraceMs = (options.termGraceSeconds ?? 3) * 1000;
  const pollMs = options.pollMs ?? 1000;
  const stopFile = options.stopFile ?? path.join(dir, '..', 'STOP');
  const accel = (settings[SETTING.accel] ?? 'tcg') as Accel;
  const token = settings[SETTING.token] ?? '';

  await mkdir(dir, { recursive: true });
  if (options.writeQemuCmd !== false) await writeFile(path.join(dir, GUEST_FILES.qemuCmd), formatQemuCmdFile(command));
  await rm(consoleLog, { force: true });
  const outputPath = path.join(dir, GUEST_FILES.qemuOutput);
  // Both streams append to one file, so neither overwrites what the other wrote.
  await writeFile(outputPath, '');
  const sink = { file: outputPath, append: true } as const;

  const [binary, ...args] = options.affinity ? ['taskset', '-c', options.affinity, ...command.argv] : command.argv;
  const started = Date.now();
  const child = execa(binary!, args, { stdin: 'ignore', stdout: sink, stderr: sink, reject: false });
  const ended = childEnded(child);
  const watch = new ConsoleWatch(consoleLog);
  let wake: () => void = () => {};
  const onAbort = () => wake();
  options.signal?.addEventListener('abort', onAbort);

  let reason: EndReason = 'exited';
  let end: ChildEnd | undefined;
  let lastGrowth = started;
  try {
    for (;;) {
      const woke = new Promise<undefined>((resolve) => (wake = () => resolve(undefined)));
      const tick = options.signal?.aborted
        ? undefined
        : await Promise.race<ChildEnd | undefined>([ended, sleep(pollMs).then(() => undefined), woke]);
      if (tick) {
        end = tick;
        break;
      }
      const now = Date.now();
      const elapsedS = (now - started) / 1000;
      if (options.signal?.aborted || existsSync(stopFile)) {
        reason = 'stopped';
        await stopChild(child, ended, termGraceMs);
        break;
      }
      if (await watch.poll()) lastGrowth = now;
      reason = guestDeadline({ elapsedS, quietForS: (now - lastGrowth) / 1000, kernelSeen: watch.kernelSeen, bootS, durationS, graceS, quietS, overtimeS }) ?? reason;
      if (reason !== 'exited') {
        await stopChild(child, ended, 0);
        break;
      }
    }
    end ??= await Promise.race<ChildEnd | undefined>([ended, sleep(1000).then(() => undefined)]);
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    await watch.poll().catch(() => false);
    await watch.close();
  }
  const durationMs = Date.now() - started;

  const exitCode = end?.exitCode ?? null;
  const signal = end?.signal ?? (end ? null : 'SIGKILL');
  let startError = end?.spawnError ?? null;
  if (!startError && reason === 'exited' && exitCode !== 0 && watch.size === 0) {
    startError = await firstErrorLines(outputPath, exitCode);
  }
  await writeFile(path.join(dir, GUEST_FILES.qemuRetval), `${formatRetval(exitCode, signal)}\n`);
  return {
    instance: options.instance,
    host: options.host ?? 'localhost',
    exitCode,
    signal,
    timedOut: reason === 'timedOut',
    noOutput: reason === 'noOutput',
    stopped: reason === 'stopped',
    startError,
    durationMs,
    startedAt: new Date(started).toISOString(),
    logPath: consoleLog,
    token,
    accel,
  };
}

function fail(why: string): never {
  throw new KvmFarmError('KVMFARM_BAD_ARGUMENT', why);
}

function numberSetting(settings: Record<string, string>, name: string, fallback?: number): number {
  const raw = settings[name];
  const value = raw === undefined ? fallback : Number(raw);
  if (value === undefined || !Number.isFinite(value) || value < 0) {
    fail(`qemu-cmd setting ${name}=${raw ?? ''} is missing or not a number of seconds`);
  }
  return value;
}

async function firstErrorLines(outputPath: string, exitCode: number | null): Promise<string> {
  const text = await readFile(outputPath, 'utf8').catch(() => '');
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !/^QEMU .* monitor/.test(l) && !l.startsWith('(qemu)'))
    .slice(0, 3);
  return lines.length > 0 ? lines.join(' | ') : `qemu exited with status ${exitCode} before writing any console output`;
}
