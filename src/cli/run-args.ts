import yargs, { type Argv } from 'yargs';
import { parseKconfigArgument } from '../scenarios/fragment.js';
import { parseDuration } from '../util/duration.js';
import type { AccelRequest, CcacheMode, DryrunMode, RunOptions } from '../run/options.js';
import { usageError } from './errors.js';

/** What `kvm-run` was asked for: the library's options plus what only the CLI decides. */
export interface KvmRunArgs {
  options: RunOptions;
  dryrun?: DryrunMode;
  allcpus: boolean;
}

/** kvm.sh's flags that select and shape a run; kvm-remote shares them. */
export function defineRunFlags<T>(parser: Argv<T>) {
  return parser
    .option('configs', { type: 'string', describe: 'Scenarios to run: NAME, N*NAME, CFLIST (default: CFLIST)' })
    .option('torture', { type: 'string', default: 'rcu', describe: 'Torture suite: rcu, lock, scf, rcuscale, refscale' })
    .option('scenarios', { type: 'string', describe: 'Scenario directory (default: scenarios/<torture>)' })
    .option('cpus', { type: 'string', describe: 'CPUs the guests may use (default: all of this machine)' })
    .option('allcpus', { type: 'boolean', default: false, describe: 'Use every CPU of this machine' })
    .option('duration', { type: 'string', default: '30', describe: 'Test duration: minutes, or Ns, Nm, Nh, Nd' })
    .option('bootargs', { type: 'string', array: true, nargs: 1, default: [], describe: 'Extra kernel boot arguments' })
    .option('kconfig', { type: 'string', array: true, nargs: 1, default: [], describe: 'Extra Kconfig settings: "CONFIG_A=y CONFIG_B=4"' })
    .option('kernel-dir', { type: 'string', describe: 'Kernel source tree (default: the current directory)' })
    .option('defconfig', { type: 'string', default: 'defconfig', describe: 'Config base for scenarios without #BASE#' })
    .option('kasan', { type: 'boolean', default: false, describe: 'Build with KASAN' })
    .option('kcsan', { type: 'boolean', default: false, describe: 'Build with KCSAN' })
    .option('kmake-arg', { type: 'string', array: true, nargs: 1, default: [], describe: 'Extra make arguments' })
    .option('trust-make', { type: 'boolean', default: false, describe: 'Do not clean build directories between builds' })
    .option('ccache', { choices: ['auto', 'on', 'off'], default: 'auto', describe: 'Compile through ccache' })
    .option('results', { type: 'string', describe: 'Parent of run directories (default: res)' })
    .option('datestamp', { type: 'string', describe: 'Run directory name (default: the date and time)' })
    .option('memory', { type: 'string', default: '512M', describe: 'Guest memory: 512, 512M, 2G' })
    .option('qemu-args', { type: 'string', array: true, nargs: 1, default: [], describe: 'Extra qemu arguments' })
    .option('qemu-cmd', { type: 'string', describe: 'qemu binary (default: by architecture)' })
    .option('shutdown-grace', { type: 'string', default: '180', describe: 'Seconds past the duration before a guest is hung' })
    .option('boot-timeout', { type: 'string', default: '120', describe: 'Seconds a silent guest gets before it is no-boot' })
    .option('accel', { choices: ['auto', 'kvm', 'tcg'], default: 'auto', describe: 'Accelerator; auto probes KVM and falls back to TCG' })
    .option('buildonly', { type: 'boolean', default: false, alias: 'build-only', describe: 'Build kernels and qemu-cmd files, boot nothing' });
}

type RunFlags = Awaited<ReturnType<ReturnType<typeof defineRunFlags>['parseAsync']>>;

export function positiveInteger(flag: string, text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1) throw usageError(`${flag} "${text}" must be a whole number of at least 1`);
  return Number(text);
}

function memory(text: string): string {
  if (!/^\d+[MG]?$/.test(text) || /^0+[MG]?$/.test(text)) throw usageError(`--memory "${text}" must be a size such as 512, 512M or 2G`);
  return /[MG]$/.test(text) ? text : `${text}M`;
}

const words = (list: string[]) => list.flatMap((x) => x.split(/\s+/)).filter((w) => w !== '');

/** Turns parsed flags into typed run options, with one clear error for a bad value. */
export function runOptionsFromFlags(flags: RunFlags, cwd: string): RunOptions {
  return {
    torture: flags.torture,
    ...(flags.scenarios === undefined ? {} : { scenariosDir: flags.scenarios }),
    ...(flags.configs === undefined ? {} : { configs: flags.configs }),
    ...(flags.cpus === undefined ? {} : { cpus: positiveInteger('--cpus', flags.cpus) }),
    kconfig: parseKconfigArgument(flags.kconfig.join(' ')),
    bootArgs: words(flags.bootargs),
    durationSeconds: parseDuration(flags.duration),
    kernelDir: flags['kernel-dir'] ?? cwd,
    defconfig: flags.defconfig,
    kasan: flags.kasan,
    kcsan: flags.kcsan,
    kmakeArgs: words(flags['kmake-arg']),
    trustMake: flags['trust-make'],
    ccache: flags.ccache as CcacheMode,
    ...(flags.results === undefined ? {} : { results: flags.results }),
    ...(flags.datestamp === undefined ? {} : { datestamp: flags.datestamp }),
    buildonly: flags.buildonly,
    memory: memory(flags.memory),
    qemuArgs: words(flags['qemu-args']),
    ...(flags['qemu-cmd'] === undefined ? {} : { qemuCmd: flags['qemu-cmd'] }),
    shutdownGraceSeconds: nonNegativeInteger('--shutdown-grace', flags['shutdown-grace']),
    bootTimeoutSeconds: positiveInteger('--boot-timeout', flags['boot-timeout']),
    accel: flags.accel as AccelRequest,
  };
}

function nonNegativeInteger(flag: string, text: string): number {
  if (!/^\d+$/.test(text)) throw usageError(`${flag} "${text}" must be a whole number of seconds`);
  return Number(text);
}

/** A yargs parser that throws instead of printing usage and exiting, so tests and scripts can call it. */
export function strictParser(argv: string[], name: string, usage: string) {
  return yargs(argv)
    .scriptName(name)
    .usage(usage)
    .strict()
    .help(false)
    .version(false)
    .exitProcess(false)
    .parserConfiguration({ 'duplicate-arguments-array': true, 'strip-aliased': true, 'boolean-negation': false })
    .fail((message, error) => {
      throw error ?? usageError(message.replace(/\n/g, ' '));
    });
}

/** `--help`/`-h` anywhere: print the usage and run nothing. */
export function wantsHelp(argv: string[]): boolean {
  return argv.includes('--help') || argv.includes('-h');
}

export function kvmRunParser(argv: string[]) {
  return defineRunFlags(strictParser(argv, 'kvm-run', 'kvm-run [options]')).option('dryrun', {
    choices: ['batches', 'scenarios', 'sched', 'script'],
    describe: 'Print the plan and touch nothing',
  });
}

/** Parses kvm-run's command line without starting anything. */
export async function parseKvmRunArgs(argv: string[], cwd = process.cwd()): Promise<KvmRunArgs> {
  const flags = await kvmRunParser(argv).parseAsync();
  const options = runOptionsFromFlags(flags, cwd);
  if (flags.allcpus && flags.cpus !== undefined) throw usageError('--allcpus and --cpus cannot both be given');
  return { options, allcpus: flags.allcpus, ...(flags.dryrun === undefined ? {} : { dryrun: flags.dryrun as DryrunMode }) };
}
