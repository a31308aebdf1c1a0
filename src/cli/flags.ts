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
  /**
   * An upstream flag that makes no sense here: given, it stops the command with one
   * line, `--name: <this>`, saying why and what to use instead (never "Unknown argument").
   */
  refused?: string;
}

const flag = (name: string, kind: FlagSpec['kind'], describe: string, extra: Partial<FlagSpec> = {}): FlagSpec => ({ name, kind, describe, ...extra });
/** An upstream flag kvm-farm refuses, with the reason and the way out. */
export const refusedFlag = (name: string, kind: FlagSpec['kind'], reason: string, extra: Partial<FlagSpec> = {}): FlagSpec => ({ name, kind, describe: `(refused: ${reason})`, refused: reason, ...extra });
/** The same flag, refused by one command for its own reason. */
export const refuse = (spec: FlagSpec, reason: string): FlagSpec => ({ ...spec, describe: `(refused: ${reason})`, refused: reason });

/**
 * kvm.sh flags that only make sense inside kvm.sh's own machinery or for a person at
 * the guest's console; kvm-farm refuses them with the reason and what to use instead.
 */
export const KVM_SH_REFUSED: readonly FlagSpec[] = [
  refusedFlag('interactive', 'boolean', 'kvm-farm reads every console itself and never hands one to a terminal; use --gdb to stop a guest for a debugger, or run its recorded qemu-cmd by hand'),
  refusedFlag('mac', 'value', 'it only names the NIC of an --interactive ppc64 guest, and kvm-farm guests have no network; add a NIC with --qemu-args if one is needed'),
  refusedFlag('no-initrd', 'boolean', 'kvm-farm always builds its own small initramfs into the kernel (it powers the guest off and carries the boot check); there is no initrd to leave out'),
  refusedFlag('bootimage', 'value', 'kvm-farm boots the image its own build makes for the architecture (bzImage on x86); build the kernel you want to boot from a scenario instead'),
  refusedFlag('remote', 'boolean', 'it is what kvm-remote.sh passes to kvm.sh inside; run kvm-remote "HOST1 HOST2" with the same options instead'),
];

/** kvm.sh's flags that select and shape a run; kvm-remote takes them too. */
export const RUN_FLAGS: readonly FlagSpec[] = [
  // Given twice, kvm.sh runs both lists.
  flag('configs', 'list', 'Scenarios to run: NAME, N*NAME, CFLIST', { aliases: ['config'], shown: 'CFLIST' }),
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
  flag('debug-info', 'boolean', 'Build with debug info (CONFIG_DEBUG_INFO), as --gdb does, without stopping the guest'),
  flag('gdb', 'boolean', 'Debug one scenario: build with debug info, boot with nokaslr, halt the guest (qemu -s -S) and print the gdb command'),
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
  flag('jitter', 'value', 'Host jitter processes while guests run: "N [maxsleep-us [maxspin-us]]", -1 one per CPU, 0 none', { shown: DEFAULTS.jitter }),
  flag('no-affinity', 'boolean', 'Do not pin the guests of a batch to their own CPUs'),
  flag('kill-previous', 'boolean', 'Stop the run already using this kernel tree and results directory, then start'),
  ...KVM_SH_REFUSED,
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
  flag('datestamp', 'value', 'Name of the new run directory under --results', { shown: '<date>-again' }),
  refusedFlag('remote', 'boolean', 'it is what kvm-remote.sh passes to kvm-again.sh inside; run kvm-remote "HOST1 HOST2" RUNDIR with the same options instead'),
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
  flag('build-on', 'value', 'Build the kernels on the hosts (side by side, each with -j its CPUs) or here', { choices: ['hosts', 'here'], shown: 'hosts when one can build' }),
  flag('lost-grace', 'value', 'How long a lost host\'s guests are waited for before they are rerun elsewhere: seconds (60) or 30s, 2m', { shown: defaultText('lostGraceMs') }),
];

/** Registers a table of flags on a parser; no yargs defaults, so "not given" stays undefined and DEFAULTS decide. */
export function registerFlags<T>(parser: Argv<T>, specs: readonly FlagSpec[]): Argv<T> {
  let p = parser;
  for (const s of specs) {
    const describe = s.shown === undefined ? s.describe : `${s.describe} (default: ${s.shown})`;
    // Refused flags are known (so never "Unknown argument") but kept out of --help.
    const common = { describe, ...(s.aliases ? { alias: s.aliases } : {}), ...(s.refused !== undefined ? { hidden: true } : {}) };
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

/**
 * Stops at the first refused flag given (`--interactive`, `--mac=x`), with its one-line
 * reason, before anything else is read.
 */
export function refuseFlags(argv: readonly string[], specs: readonly FlagSpec[]): void {
  const reasons = new Map<string, string>();
  const takesValue = new Set<string>();
  for (const s of specs) {
    for (const n of [s.name, ...(s.aliases ?? [])]) {
      const word = n.length === 1 ? `-${n}` : `--${n}`;
      if (s.refused !== undefined) reasons.set(word, s.refused);
      else if (s.kind !== 'boolean') takesValue.add(word);
    }
  }
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === '--') return;
    // The word after a value flag is its value (`--bootargs --remote` is a boot argument).
    if (takesValue.has(word)) {
      i++;
      continue;
    }
    const name = word.includes('=') ? word.slice(0, word.indexOf('=')) : word;
    const reason = reasons.get(name);
    if (reason !== undefined) throw usageError(`${name}: ${reason}`);
  }
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
