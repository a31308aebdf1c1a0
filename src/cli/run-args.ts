import yargs from 'yargs';
import type { RunInput } from '../options/resolve-run.js';
import type { AccelRequest, CcacheMode, DryrunMode } from '../options/defaults.js';
import { parseDuration } from '../util/duration.js';
import { bindValues, KVM_RUN_FLAGS, refuseFlags, registerFlags, RUN_FLAGS, wholeNumber, words, type FlagSpec } from './flags.js';
import { usageError } from './errors.js';

/** What `kvm-run` was asked for: the library's input plus what only the CLI decides. */
export interface KvmRunArgs {
  input: RunInput;
  allcpus: boolean;
}

/** Flags as yargs hands them back: strings, string lists and booleans, undefined when not given. */
export type ParsedFlags = Record<string, unknown> & { _: (string | number)[] };

/** A value flag's text; given twice, the last one counts, as kvm.sh's later `$2` overwrites the earlier. */
export function flagText(flags: ParsedFlags, name: string): string | undefined {
  const value = flags[name];
  if (value === undefined) return undefined;
  return String(Array.isArray(value) ? value.at(-1) : value);
}
const text = flagText;
const list = (flags: ParsedFlags, name: string): string[] | undefined => flags[name] as string[] | undefined;
const bool = (flags: ParsedFlags, name: string): boolean | undefined => flags[name] as boolean | undefined;

/** Calls `parse` on a flag's text only when the flag was given. */
function given<T>(value: string | undefined, parse: (v: string) => T): T | undefined {
  return value === undefined ? undefined : parse(value);
}

/** Drops the fields a command line left out, so DEFAULTS fill them in one place. */
export function definedOnly<T extends object>(record: T): T {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined)) as T;
}

/** Turns parsed kvm.sh-style flags into the library's run input; values are range-checked by the library. */
export function runInputFromFlags(flags: ParsedFlags): RunInput {
  const kconfig = list(flags, 'kconfig');
  return definedOnly<RunInput>({
    torture: text(flags, 'torture'),
    scenariosDir: text(flags, 'scenarios'),
    configs: list(flags, 'configs')?.join(' '),
    cpus: given(text(flags, 'cpus'), (v) => wholeNumber('--cpus', v)),
    kconfig: kconfig === undefined ? undefined : kconfig.join(' '),
    bootArgs: words(list(flags, 'bootargs')),
    durationSeconds: given(text(flags, 'duration'), (v) => parseDuration(v)),
    kernelDir: text(flags, 'kernel-dir'),
    defconfig: text(flags, 'defconfig'),
    kasan: bool(flags, 'kasan'),
    debugInfo: bool(flags, 'debug-info'),
    gdb: bool(flags, 'gdb'),
    kcsan: bool(flags, 'kcsan'),
    kmakeArgs: words(list(flags, 'kmake-arg')),
    trustMake: bool(flags, 'trust-make'),
    ccache: text(flags, 'ccache') as CcacheMode | undefined,
    results: text(flags, 'results'),
    datestamp: text(flags, 'datestamp'),
    buildonly: bool(flags, 'buildonly'),
    memory: text(flags, 'memory'),
    qemuArgs: words(list(flags, 'qemu-args')),
    qemuCmd: text(flags, 'qemu-cmd'),
    shutdownGraceSeconds: given(text(flags, 'shutdown-grace'), (v) => wholeNumber('--shutdown-grace', v)),
    bootTimeoutSeconds: given(text(flags, 'boot-timeout'), (v) => wholeNumber('--boot-timeout', v)),
    accel: text(flags, 'accel') as AccelRequest | undefined,
    dryrun: text(flags, 'dryrun') as DryrunMode | undefined,
    jitter: text(flags, 'jitter'),
    noAffinity: bool(flags, 'no-affinity'),
    killPrevious: bool(flags, 'kill-previous'),
  });
}

/** A yargs parser that throws instead of printing usage and exiting, so tests and scripts can call it. */
export function strictParser(argv: string[], name: string, usage: string, specs: readonly FlagSpec[]) {
  refuseFlags(argv, specs);
  const parser = yargs(bindValues(argv, specs))
    .scriptName(name)
    .usage(usage)
    .strict()
    .help(false)
    .version(false)
    .exitProcess(false)
    .parserConfiguration({ 'duplicate-arguments-array': true, 'strip-aliased': true, 'boolean-negation': false, 'short-option-groups': false })
    .fail((message, error) => {
      throw error ?? usageError(message.replace(/\n/g, ' '));
    });
  return registerFlags(parser, specs);
}

/** `--help`/`-h` anywhere: print the usage and run nothing. */
export function wantsHelp(argv: string[]): boolean {
  return argv.includes('--help') || argv.includes('-h');
}

export function kvmRunParser(argv: string[]) {
  return strictParser(argv, 'kvm-run', 'kvm-run [options]', KVM_RUN_FLAGS);
}

/** Parses kvm-run's command line without starting anything. */
export async function parseKvmRunArgs(argv: string[]): Promise<KvmRunArgs> {
  const flags = (await kvmRunParser(argv).parseAsync()) as ParsedFlags;
  if (flags._.length > 0) throw usageError(`unexpected word "${flags._[0]}": kvm-run takes options only`);
  const allcpus = bool(flags, 'allcpus') ?? false;
  if (allcpus && flags.cpus !== undefined) throw usageError('--allcpus and --cpus cannot both be given');
  return { input: runInputFromFlags(flags), allcpus };
}

export { RUN_FLAGS };
