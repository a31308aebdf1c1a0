import { againRun, type AgainOptions } from '../again/again.js';
import { LINK_MODES, type LinkMode } from '../again/link.js';
import type { AccelRequest } from '../run/options.js';
import { parseDuration } from '../util/duration.js';
import { EXIT, reportError, usageError } from './errors.js';
import { runAndReport, stdio, type Io } from './io.js';
import { withRunProgress } from './run-progress.js';
import { positiveInteger, strictParser, wantsHelp } from './run-args.js';

/** kvm-again's own flags; kvm-remote takes the same after a run directory. */
export function defineAgainFlags(argv: string[], name = 'kvm-again', usage = 'kvm-again RUNDIR [options]') {
  // The run directory is a positional word: unknown options stay errors, words do not.
  return strictParser(argv, name, usage)
    .strict(false)
    .strictOptions()
    .option('duration', { type: 'string', describe: 'New test duration (default: as recorded)' })
    .option('link', { choices: [...LINK_MODES], default: 'hard', describe: 'How the kernels come over: hard, soft or copy' })
    .option('rundir', { type: 'string', describe: 'The new run directory (must not exist)' })
    .option('results', { type: 'string', describe: 'Parent of the new <date>-again directory (default: res)' })
    .option('bootargs', { type: 'string', array: true, nargs: 1, default: [], describe: 'Boot arguments added to the recorded ones' })
    .option('configs', { type: 'string', describe: 'Only these instances: "TREE01 TINY01.2"' })
    .option('failed', { type: 'boolean', default: false, describe: 'Only the instances that did not pass' })
    .option('dryrun', { type: 'boolean', default: false, describe: 'Prepare the new run directory, boot nothing' })
    .option('cpus', { type: 'string', describe: 'CPUs a subset is planned into (default: all of this machine)' })
    .option('accel', { choices: ['auto', 'kvm', 'tcg'], default: 'auto', describe: 'Accelerator; auto probes again' })
    .option('qemu-cmd', { type: 'string', describe: 'qemu binary instead of the recorded one' })
    .option('shutdown-grace', { type: 'string', describe: 'Seconds past the duration before a guest is hung (default: as recorded)' })
    .option('boot-timeout', { type: 'string', default: '120', describe: 'Seconds a silent guest gets before it is no-boot' });
}

/** Parses `kvm-again RUNDIR [options]` into library options. */
export async function parseKvmAgainArgs(argv: string[]): Promise<AgainOptions> {
  const flags = await defineAgainFlags(argv).parseAsync();
  const positional = flags._.map(String);
  if (positional.length !== 1) {
    throw usageError(positional.length === 0 ? 'usage: kvm-again RUNDIR [options]' : `one run directory, got ${positional.length}: ${positional.join(' ')}`);
  }
  return againOptionsFromFlags(flags, positional[0]!);
}

type AgainFlags = Awaited<ReturnType<ReturnType<typeof defineAgainFlags>['parseAsync']>>;

export function againOptionsFromFlags(flags: AgainFlags, runDir: string): AgainOptions {
  const grace = flags['shutdown-grace'];
  if (grace !== undefined && !/^\d+$/.test(grace)) throw usageError(`--shutdown-grace "${grace}" must be a whole number of seconds`);
  return {
    runDir,
    ...(flags.duration === undefined ? {} : { durationSeconds: parseDuration(flags.duration) }),
    link: flags.link as LinkMode,
    ...(flags.rundir === undefined ? {} : { newRunDir: flags.rundir }),
    ...(flags.results === undefined ? {} : { results: flags.results }),
    bootArgs: flags.bootargs.flatMap((x) => x.split(/\s+/)).filter((w) => w !== ''),
    ...(flags.configs === undefined ? {} : { configs: flags.configs }),
    failed: flags.failed,
    dryrun: flags.dryrun,
    ...(flags.cpus === undefined ? {} : { cpus: positiveInteger('--cpus', flags.cpus) }),
    accel: flags.accel as AccelRequest,
    ...(flags['qemu-cmd'] === undefined ? {} : { qemuCmd: flags['qemu-cmd'] }),
    ...(grace === undefined ? {} : { shutdownGraceSeconds: Number(grace) }),
    bootTimeoutSeconds: positiveInteger('--boot-timeout', flags['boot-timeout']),
  };
}

/** kvm-again RUNDIR: boot an earlier run's kernels again, whole or in part, without building. */
export async function main(argv: string[], io: Io = stdio): Promise<number> {
  try {
    if (wantsHelp(argv)) {
      io.out(await defineAgainFlags([]).getHelp());
      return EXIT.ok;
    }
    const options = await parseKvmAgainArgs(argv);
    return await runAndReport(io, (signal) => withRunProgress(io, (hooks) => againRun({ ...options, ...hooks, signal })));
  } catch (error) {
    return reportError('kvm-again', error, io.err);
  }
}
