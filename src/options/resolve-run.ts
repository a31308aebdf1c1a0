import { parseMemory } from '../qemu/memory.js';
import type { KconfigSetting } from '../scenarios/types.js';
import { parseKconfigText } from '../scenarios/fragment.js';
import type { RunOptions } from '../run/options.js';
import { KvmFarmError } from '../util/errors.js';
import { ACCEL_REQUESTS, CCACHE_MODES, DEFAULTS, DRYRUN_MODES, type AccelRequest, type CcacheMode, type DryrunMode } from './defaults.js';
import { checkNumber, LIMITS } from './limits.js';
import { NO_JITTER_SUITES, parseJitter, type JitterSettings } from '../host-load/jitter-spec.js';
import { checkDatestamp, checkResultsDir } from './run-dir-names.js';

/**
 * What a caller gives `run()`: any subset of the options; everything missing takes
 * its default from DEFAULTS. `kconfig` may be kvm.sh's text form ("CONFIG_A=y CONFIG_B=4").
 */
export type RunInput = Partial<Omit<RunOptions, 'kconfig' | 'jitter'>> & {
  kconfig?: KconfigSetting[] | string;
  /** Settings, or kvm.sh's text form ("-1", "4 500000 2000"). */
  jitter?: JitterSettings | string;
  /** Print the plan instead of running (`--dryrun`). */
  dryrun?: DryrunMode;
};

/** Fills defaults and checks every value once, for the CLI and for library callers alike. */
export function resolveRunOptions(input: RunInput, cwd = process.cwd()): RunOptions & { dryrun?: DryrunMode } {
  if (input.buildonly && input.dryrun) {
    throw new KvmFarmError('KVMFARM_BAD_ARGUMENT', '--buildonly and --dryrun cannot both be given: --dryrun already builds nothing');
  }
  const kconfig = typeof input.kconfig === 'string' ? parseKconfigText(input.kconfig) : { settings: input.kconfig ?? [], checks: [] };
  const gdb = input.gdb ?? false;
  const resolved: RunOptions & { dryrun?: DryrunMode } = {
    torture: input.torture ?? DEFAULTS.torture,
    kconfig: kconfig.settings,
    bootArgs: input.bootArgs ?? [],
    durationSeconds: checkNumber('durationSeconds', '--duration', input.durationSeconds ?? DEFAULTS.durationSeconds),
    kernelDir: input.kernelDir ?? cwd,
    defconfig: checkDefconfig(input.defconfig ?? DEFAULTS.defconfig),
    kasan: input.kasan ?? false,
    kcsan: input.kcsan ?? false,
    kmakeArgs: input.kmakeArgs ?? [],
    trustMake: input.trustMake ?? false,
    ccache: oneOf<CcacheMode>('--ccache', input.ccache ?? DEFAULTS.ccache, CCACHE_MODES),
    buildonly: input.buildonly ?? false,
    memory: checkMemory(input.memory ?? DEFAULTS.memory),
    qemuArgs: input.qemuArgs ?? [],
    // A guest under --gdb waits for a person at a debugger; only a timeout that was asked for cuts that short.
    shutdownGraceSeconds: checkNumber('shutdownGraceSeconds', '--shutdown-grace', input.shutdownGraceSeconds ?? (gdb ? DEFAULTS.gdbWaitSeconds.grace : DEFAULTS.shutdownGraceSeconds)),
    bootTimeoutSeconds: checkNumber('bootTimeoutSeconds', '--boot-timeout', input.bootTimeoutSeconds ?? (gdb ? DEFAULTS.gdbWaitSeconds.boot : DEFAULTS.bootTimeoutSeconds)),
    accel: oneOf<AccelRequest>('--accel', input.accel ?? DEFAULTS.accel, ACCEL_REQUESTS),
    results: checkResultsDir(input.results ?? DEFAULTS.results),
    jitter: resolveJitter(input.jitter, input.torture ?? DEFAULTS.torture),
    noAffinity: input.noAffinity ?? false,
    killPrevious: input.killPrevious ?? false,
  };
  if (kconfig.checks.length > 0 || input.kconfigChecks) resolved.kconfigChecks = [...(input.kconfigChecks ?? []), ...kconfig.checks];
  if (gdb) resolved.gdb = true;
  if (input.debugInfo || gdb) resolved.debugInfo = true;
  // Optional fields stay absent rather than undefined, so spreading a resolved object never clears another's.
  if (input.scenariosDir !== undefined) resolved.scenariosDir = input.scenariosDir;
  if (input.configs !== undefined) resolved.configs = input.configs;
  if (input.cpus !== undefined) resolved.cpus = checkNumber('cpus', '--cpus', input.cpus);
  if (input.datestamp !== undefined) resolved.datestamp = checkDatestamp(input.datestamp);
  if (input.qemuCmd !== undefined) resolved.qemuCmd = input.qemuCmd;
  if (input.log !== undefined) resolved.log = input.log;
  if (input.dryrun !== undefined) resolved.dryrun = oneOf<DryrunMode>('--dryrun', input.dryrun, DRYRUN_MODES);
  return resolved;
}

export function oneOf<T extends string>(flag: string, value: string, choices: readonly T[]): T {
  if (!(choices as readonly string[]).includes(value)) {
    throw new KvmFarmError('KVMFARM_BAD_ARGUMENT', `${flag} "${value}": choose one of ${choices.join(', ')}`);
  }
  return value as T;
}

/** A make target word (`defconfig`, `tinyconfig`, `x86_64_defconfig`): its name also becomes a file name. */
function checkDefconfig(name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.+-]*$/.test(name) || name.length > 100) {
    throw new KvmFarmError('KVMFARM_BAD_ARGUMENT', `--defconfig "${name}" is not a make config target such as defconfig or tinyconfig`);
  }
  return name;
}

function checkMemory(text: string): string {
  const memory = parseMemory(text);
  checkNumber('memoryMiB', '--memory', Number(memory.slice(0, -1)));
  return memory;
}

export { LIMITS };

/** kvm.sh's default jitter, except for the scaling suites, which measure speed and get none unless asked. */
function resolveJitter(given: JitterSettings | string | undefined, torture: string): JitterSettings {
  if (given === undefined) return parseJitter(NO_JITTER_SUITES.includes(torture) ? '0' : DEFAULTS.jitter);
  if (typeof given === 'string') return parseJitter(given);
  return parseJitter(`${given.processes} ${given.maxSleepUs} ${given.maxSpinUs}`);
}
