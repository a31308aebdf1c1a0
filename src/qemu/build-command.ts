import { DEFAULTS } from '../options/defaults.js';
import { randomBytes } from 'node:crypto';
import { suiteBootArgs, type TortureSuite } from '../scenarios/suites.js';
import { KvmFarmError } from '../util/errors.js';
import { ARCHES, type ArchName } from './arch.js';
import { parseMemory } from './memory.js';
import type { Accel, QemuCommand } from './types.js';

/** rcutorture's TORTURE_SHUTDOWN_GRACE default, in seconds. */
export const DEFAULT_SHUTDOWN_GRACE_SECONDS = DEFAULTS.shutdownGraceSeconds;

/** Names of the `# NAME=value` settings lines of a qemu-cmd file. */
export const SETTING = {
  grace: 'TORTURE_SHUTDOWN_GRACE',
  seconds: 'seconds',
  cpus: 'TORTURE_CPU_COUNT',
  token: 'KVMFARM_TOKEN',
  accel: 'KVMFARM_ACCEL',
} as const;

export interface BuiltQemuCommand extends QemuCommand {
  /** Things the caller should tell the user and put in the scenario's Warnings (CPU count limited). */
  warnings: string[];
  /** The boot token put on the kernel command line, also in `settings.KVMFARM_TOKEN`. */
  token: string;
  /** The `-smp` count used. */
  cpus: number;
}

export interface QemuCommandOptions {
  /** Guest architecture; x86_64 unless told. */
  arch?: ArchName;
  accel: Accel;
  /** Path of the boot image (bzImage for x86_64). */
  kernel: string;
  /** Path of an initramfs; omitted when the kernel carries its own. */
  initrd?: string;
  /** Where the guest's serial console is written. */
  consoleLog: string;
  /** CPUs the scenario wants. */
  cpus: number;
  /** CPUs the batch gives this guest; a larger demand is cut down to it, with a warning. */
  allottedCpus?: number;
  /** `-m`: 512, "512M", "2G"; 512M unless told. */
  memory?: string | number;
  /** Test duration in seconds, for the suite's shutdown and the `seconds` setting. */
  seconds: number;
  /** TORTURE_SHUTDOWN_GRACE: seconds allowed past `seconds` before a silent guest counts as hung. */
  shutdownGraceSeconds?: number;
  /** Words of the scenario's .boot file. */
  scenarioBootArgs?: string[];
  /** Words of --bootargs. */
  bootArgs?: string[];
  /** The torture suite whose parameters come last on the boot line; none for a plain boot. */
  suite?: TortureSuite;
  /** Whether the kernel can hotplug CPUs (the suite then adds its hotplug parameters). */
  hotplugCpu?: boolean;
  /** Extra qemu words from --qemu-args, placed last so they can override ours. */
  qemuArgs?: string[];
  /** --qemu-cmd: the qemu binary to run instead of the architecture's. */
  qemuCmd?: string;
  /** Boot token; a fresh random one unless given (tests). */
  token?: string;
}

/** A fresh random token; the verdict later finds it on the console's `Command line:`. */
export function newBootToken(): string {
  return randomBytes(8).toString('hex');
}

/** The guest CPU count: the scenario's demand cut to the batch's allotment. */
export function limitCpus(demand: number, allotted?: number): { cpus: number; warning?: string } {
  const want = Math.max(1, Math.floor(demand));
  if (allotted !== undefined && want > allotted) {
    const cpus = Math.max(1, Math.floor(allotted));
    return { cpus, warning: `CPU count limited from ${want} to ${cpus}` };
  }
  return { cpus: want };
}

/**
 * The guest's kernel command line: rcutorture's defaults (identify_qemu_append),
 * the scenario's .boot, --bootargs, the suite's parameters not already set, then the
 * boot token, last so nothing can shadow it.
 */
export function buildAppend(options: QemuCommandOptions, token: string): string[] {
  const arch = ARCHES[options.arch ?? 'x86_64'];
  const chosen = [...(options.scenarioBootArgs ?? []), ...(options.bootArgs ?? [])];
  const suiteArgs = options.suite
    ? suiteBootArgs(options.suite, {
        bootArgs: chosen,
        hotplugCpu: options.hotplugCpu ?? false,
        seconds: options.seconds,
      })
    : [];
  return [
    'debug_boot_weak_hash',
    'panic=-1',
    ...arch.appendDefaults,
    `console=${arch.console}`,
    ...chosen,
    ...suiteArgs,
    `kvmfarm.token=${token}`,
  ];
}

/** Pure: options in, qemu words and qemu-cmd settings out. Starts nothing, reads nothing. */
export function buildQemuCommand(options: QemuCommandOptions): BuiltQemuCommand {
  const arch = ARCHES[options.arch ?? 'x86_64'];
  if (!arch) {
    throw new KvmFarmError('KVMFARM_BAD_ARGUMENT', `unknown guest architecture "${options.arch}"; known: ${Object.keys(ARCHES).join(', ')}`);
  }
  if (!Number.isFinite(options.seconds) || options.seconds <= 0) {
    throw new KvmFarmError('KVMFARM_BAD_ARGUMENT', `test duration ${options.seconds} s is not a positive number of seconds`);
  }
  const grace = options.shutdownGraceSeconds ?? DEFAULT_SHUTDOWN_GRACE_SECONDS;
  const token = options.token ?? newBootToken();
  const extra = options.qemuArgs ?? [];
  const warnings: string[] = [];
  const { cpus, warning } = limitCpus(options.cpus, options.allottedCpus);
  if (warning) warnings.push(warning);

  // Plain `-accel tcg`: qemu 7.2 already runs an x86 guest multi-threaded on an x86 host
  // (a 2-CPU boot to SUCCESS took 18.9 s plain, 18.2 s with thread=multi), and forcing
  // thread=multi where the memory models differ only earns a warning.
  const argv = [options.qemuCmd ?? arch.qemu, '-accel', options.accel];
  argv.push(...arch.machine(options.accel), ...arch.cpu(options.accel), ...arch.extraArgs);
  // As rcutorture's specify_qemu_cpus and specify_qemu_net: the user's own -smp or -net wins.
  if (!extra.includes('-smp')) argv.push('-smp', String(cpus));
  if (!extra.some((w) => w === '-net' || w === '-netdev' || w === '-nic')) argv.push('-net', 'none');
  argv.push('-m', parseMemory(options.memory));
  argv.push('-nographic', '-no-reboot');
  argv.push('-serial', `file:${options.consoleLog}`);
  argv.push('-kernel', options.kernel);
  if (options.initrd) argv.push('-initrd', options.initrd);
  argv.push('-append', buildAppend(options, token).join(' '));
  argv.push(...extra);

  const settings: Record<string, string> = {
    [SETTING.grace]: String(grace),
    [SETTING.seconds]: String(options.seconds),
    [SETTING.cpus]: String(cpus),
    [SETTING.token]: token,
    [SETTING.accel]: options.accel,
  };
  return { argv, settings, warnings, token, cpus };
}

/** The console file a command writes (`-serial file:PATH`), or undefined. */
export function consoleLogOf(command: QemuCommand): string | undefined {
  const { argv } = command;
  for (let i = argv.length - 2; i >= 0; i--) {
    if (argv[i] === '-serial' && argv[i + 1]!.startsWith('file:')) return argv[i + 1]!.slice('file:'.length);
  }
  return undefined;
}
