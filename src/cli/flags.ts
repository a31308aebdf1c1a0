import type { Argv } from 'yargs';
import { ACCEL_REQUESTS, CCACHE_MODES, DEFAULTS, defaultText, DRYRUN_MODES } from '../options/defaults.js';
import { LINK_MODES } from '../again/link.js';
import { usageError } from './errors.js';

/**
 * One command-line flag as data, as vitest keeps its CLI: a new flag is one entry.
 * `value` flags take the next word whatever it looks like (`--qemu-args "-device x"`,
 * `--kmake-arg -j4`), as kvm.sh's `$2` does; `list` flags may be given many times.
 */
export interface FlagSpec {
  name: string;
  kind: 'value' | 'list' | 'boolean';
  describe: string;
  aliases?: string[];
  choices?: readonly string[];
  /** What `--help` shows as the default; from DEFAULTS wherever there is one. */
  shown?: string;
}

const flag = (name: string, kind: FlagSpec['kind'], describe: string, extra: Partial<FlagSpec> = {}): FlagSpec => ({ name, kind, describe, ...extra });

/** kvm.sh's flags that select and shape a run; kvm-remote takes them too. */
export const RUN_FLAGS: readonly FlagSpec[] = [
  flag('configs', 'value', 'Scenarios to run: NAME, N*NAME, CFLIST', { aliases: ['config'], shown: 'CFLIST' }),
  flag('torture', 'value', 'Torture suite: rcu, lock, scf, rcuscale, refscale', { shown: DEFAULTS.torture }),
  flag('scenarios', 'value', 'Scenario directory', { shown: 'scenarios/<torture>' }),
  flag('cpus', 'value', 'CPUs the guests may use', { shown: 'all of this machine' }),
  flag('allcpus', 'boolean', 'Use every CPU of this machine'),
  flag('duration', 'value', 'Test duration: minutes, or Ns, Nm, Nh, Nd', { shown: defaultText('durationSeconds') }),
  flag('bootargs', 'list', 'Extra kernel boot arguments', { aliases: ['bootarg'] }),
  flag('kconfig', 'list', 'Extra Kconfig settings: "CONFIG_A=y CONFIG_B=4"', { aliases: ['kconfigs'] }),
  flag('kernel-dir', 'value', 'Kernel source tree', { shown: 'the current directory' }),
  flag('defconfig', 'value', 'Config base for scenarios without #BASE#', { shown: DEFAULTS.defconfig }),
  flag('kasan', 'boolean', 'Build with KASAN'),
  flag('kcsan', 'boolean', 'Build with KCSAN'),
  flag('kmake-arg', 'list', 'Extra make arguments', { aliases: ['kmake-args'] }),
  flag('trust-make', 'boolean', 'Do not clean build directories between builds'),
  flag('ccache', 'value', 'Compile through ccache', { choices: CCACHE_MODES, shown: DEFAULTS.ccache }),
  flag('results', 'value', 'Parent of run directories', { shown: DEFAULTS.results }),
  flag('datestamp', 'value', 'Run directory name', { shown: 'the date and time' }),
  flag('memory', 'value', 'Guest memory: 512, 512M, 2G', { shown: DEFAULTS.memory }),
  flag('qemu-args', 'list', 'Extra qemu arguments', { aliases: ['qemu-arg'] }),
  flag('qemu-cmd', 'value', 'qemu binary', { shown: 'by architecture' }),
  flag('shutdown-grace', 'value', 'Seconds past the duration before a guest is hung', { shown: String(DEFAULTS.shutdownGraceSeconds) }),
  flag('boot-timeout', 'value', 'Seconds a silent guest gets before it is no-boot', { shown: String(DEFAULTS.bootTimeoutSeconds) }),
  flag('accel', 'value', 'Accelerator; auto probes KVM and falls back to TCG', { choices: ACCEL_REQUESTS, shown: DEFAULTS.accel }),
  flag('buildonly', 'boolean', 'Build kernels and qemu-cmd files, boot nothing', { aliases: ['build-only'] }),
];

export const KVM_RUN_FLAGS: readonly FlagSpec[] = [
  ...RUN_FLAGS,
  flag('dryrun', 'value', 'Print the plan and touch nothing', { choices: DRYRUN_MODES }),
];

/** kvm-again's flags; kvm-remote takes the same after a run directory. */
export const AGAIN_FLAGS: readonly FlagSpec[] = [
  flag('duration', 'value', 'New test duration', { shown: 'as recorded' }),
  flag('link', 'value', 'How the kernels come over', { choices: LINK_MODES, shown: DEFAULTS.link }),
  flag('rundir', 'value', 'The new run directory (must not exist)'),
  flag('results', 'value', 'Parent of the new <date>-again directory', { shown: DEFAULTS.results }),
  flag('bootargs', 'list', 'Boot arguments added to the recorded ones', { aliases: ['bootarg'] }),
  flag('configs', 'value', 'Only these instances: "TREE01 TINY01.2"', { aliases: ['config'] }),
  flag('failed', 'boolean', 'Only the instances that did not pass'),
  flag('dryrun', 'boolean', 'Prepare the new run directory, boot nothing'),
  flag('cpus', 'value', 'CPUs a subset is planned into', { shown: 'all of this machine' }),
  flag('accel', 'value', 'Accelerator; auto probes again', { choices: ACCEL_REQUESTS, shown: DEFAULTS.accel }),
  flag('qemu-cmd', 'value', 'qemu binary instead of the architecture\'s', { shown: 'by architecture' }),
  flag('shutdown-grace', 'value', 'Seconds past the duration before a guest is hung', { shown: 'as recorded' }),
  flag('boot-timeout', 'value', 'Seconds a silent guest gets before it is no-boot', { shown: String(DEFAULTS.bootTimeoutSeconds) }),
];

/** What kvm-remote adds to kvm-run's and kvm-again's flags. */
export const REMOTE_FLAGS: readonly FlagSpec[] = [
  flag('remote-dir', 'value', 'Work directory on each host: kernels/ (kept) and runs/<run>/', { shown: DEFAULTS.remoteDir }),
  flag('ship-concurrency', 'value', 'Hosts receiving kernels at once; 1 ships one after another', { shown: 'all' }),
  flag('keep-remote', 'boolean', 'Leave each host\'s runs/<run>/ in place'),
  flag('accept-new-host-keys', 'boolean', 'Record unknown host keys instead of refusing them (changed keys are always refused)'),
  flag('ssh-config', 'value', 'Read only this ssh client config (as ssh -F)', { aliases: ['F'] }),
  flag('min-hosts', 'value', 'Hosts that must be ready to start', { shown: 'all listed' }),
  flag('gather-timeout', 'value', 'Once --min-hosts are ready, wait this long for the rest; also the limit for reaching --min-hosts: seconds (120) or 30s, 2m', { shown: defaultText('gatherTimeoutMs') }),
  flag('retries', 'value', 'Reruns of an instance whose host was lost under it', { shown: String(DEFAULTS.retries) }),
  flag('lost-grace', 'value', 'How long a lost host\'s guests are waited for before they are rerun elsewhere: seconds (60) or 30s, 2m', { shown: defaultText('lostGraceMs') }),
];

/** Registers a table of flags on a parser; no yargs defaults, so "not given" stays undefined and DEFAULTS decide. */
export function registerFlags<T>(parser: Argv<T>, specs: readonly FlagSpec[]): Argv<T> {
  let p = parser;
  for (const s of specs) {
    const describe = s.shown === undefined ? s.describe : `${s.describe} (default: ${s.shown})`;
    const common = { describe, ...(s.aliases ? { alias: s.aliases } : {}) };
    if (s.kind === 'boolean') p = p.option(s.name, { ...common, type: 'boolean' });
    else if (s.kind === 'list') p = p.option(s.name, { ...common, type: 'string', array: true, nargs: 1 });
    else p = p.option(s.name, { ...common, type: 'string', ...(s.choices ? { choices: [...s.choices] } : {}) });
  }
  return p;
}

/**
 * Joins each value flag with the word after it (`--qemu-args -device` → `--qemu-args=-device`)
 * before yargs reads the line, so a value may begin with `-` as it may for kvm.sh.
 * A value flag at the very end is refused here with its name.
 */
export function bindValues(argv: readonly string[], specs: readonly FlagSpec[]): string[] {
  const takesValue = new Set<string>();
  for (const s of specs) {
    if (s.kind === 'boolean') continue;
    for (const n of [s.name, ...(s.aliases ?? [])]) takesValue.add(n.length === 1 ? `-${n}` : `--${n}`);
  }
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === '--') {
      out.push(...argv.slice(i));
      break;
    }
    if (!takesValue.has(word)) {
      out.push(word);
      continue;
    }
    const value = argv[i + 1];
    if (value === undefined) throw usageError(`${word} needs a value`);
    out.push(`${word}=${value}`);
    i++;
  }
  return out;
}

/** Splits list flags given as several words or one quoted string into words. */
export function words(list: readonly string[] | undefined): string[] {
  return (list ?? []).flatMap((x) => x.split(/\s+/)).filter((w) => w !== '');
}

/** A whole number as typed; its range is the library's to check, with the limit in the message. */
export function wholeNumber(flagName: string, text: string): number {
  if (!/^\s*\d+\s*$/.test(text)) throw usageError(`${flagName} "${text}" must be a whole number`);
  return Number(text);
}
