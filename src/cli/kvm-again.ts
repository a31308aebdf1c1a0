import { again, type AgainInput, type AccelRequest, type LinkMode } from '../index.js';
import { parseDuration } from '../util/duration.js';
import { EXIT, reportError, usageError } from './errors.js';
import { AGAIN_FLAGS, wholeNumber, words, type FlagSpec } from './flags.js';
import { runAndReport, stdio, type Io } from './io.js';
import { definedOnly, flagText, strictParser, wantsHelp, type ParsedFlags } from './run-args.js';
import { withRunProgress } from './run-progress.js';

const USAGE = 'kvm-again RUNDIR [options]';

/** A parser for kvm-again's flags; the run directory is a positional word, unknown options stay errors. */
export function againParser(argv: string[], name = 'kvm-again', usage = USAGE, specs: readonly FlagSpec[] = AGAIN_FLAGS) {
  return strictParser(argv, name, usage, specs).strict(false).strictOptions();
}

/** Parses `kvm-again RUNDIR [options]` into the library's input. */
export async function parseKvmAgainArgs(argv: string[]): Promise<AgainInput> {
  const flags = (await againParser(argv).parseAsync()) as ParsedFlags;
  const positional = flags._.map(String);
  if (positional.length !== 1) {
    throw usageError(positional.length === 0 ? `usage: ${USAGE}` : `one run directory, got ${positional.length}: ${positional.join(' ')}`);
  }
  return againInputFromFlags(flags, positional[0]!);
}

/** kvm-again's flags as the library's input; values are range-checked by the library. */
export function againInputFromFlags(flags: ParsedFlags, runDir: string): AgainInput {
  const text = (name: string) => flagText(flags, name);
  const number = (name: string) => (text(name) === undefined ? undefined : wholeNumber(`--${name}`, text(name)!));
  return definedOnly<AgainInput>({
    runDir,
    durationSeconds: text('duration') === undefined ? undefined : parseDuration(text('duration')!),
    link: text('link') as LinkMode | undefined,
    newRunDir: text('rundir'),
    datestamp: text('datestamp'),
    results: text('results'),
    bootArgs: words(flags.bootargs as string[] | undefined),
    configs: text('configs'),
    failed: flags.failed as boolean | undefined,
    dryrun: flags.dryrun as boolean | undefined,
    cpus: number('cpus'),
    accel: text('accel') as AccelRequest | undefined,
    qemuCmd: text('qemu-cmd'),
    shutdownGraceSeconds: number('shutdown-grace'),
    bootTimeoutSeconds: number('boot-timeout'),
  });
}

/** kvm-again RUNDIR: boot an earlier run's kernels again, whole or in part, without building. */
export async function main(argv: string[], io: Io = stdio): Promise<number> {
  try {
    if (wantsHelp(argv)) {
      io.out(await againParser([]).getHelp());
      return EXIT.ok;
    }
    const input = await parseKvmAgainArgs(argv);
    return await runAndReport(io, (signal) => withRunProgress(io, (hooks) => again({ ...input, ...hooks, signal })));
  } catch (error) {
    return reportError('kvm-again', error, io.err);
  }
}
