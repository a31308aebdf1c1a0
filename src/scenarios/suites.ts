import { printable } from '../util/printable.js';
import { KvmFarmError } from '../util/errors.js';

/**
 * Everything that differs between torture suites, in one table, as the kernel's
 * per-suite configs/<suite>/ver_functions.sh files hold it.
 */
export interface TortureSuite {
  /** Suite name as given to --torture and written to the run's torture_suite file. */
  name: string;
  /** Module whose parameters the boot line carries (`rcutorture` for `rcutorture.verbose=1`). */
  module: string;
  /** The Kconfig option that builds the test in; a kernel without it cannot run the suite. */
  kconfigOption: string;
  /** How the suite is told to stop by itself: after N seconds, or when its work is done. */
  shutdown: 'seconds' | 'when-done';
  /** Seconds between statistics lines, when the suite prints them. */
  statIntervalSeconds?: number;
  /** CPU-hotplug parameters added when the kernel can hotplug CPUs and the boot line sets none. */
  hotplugArgs?: string[];
  /** Further parameters each guest gets unless its boot line already sets them. */
  defaultArgs: string[];
  /** Whether the console carries grace-period progress (`ver:` lines) that judging counts. */
  reportsGracePeriods: boolean;
}

export const SUITES: Readonly<Record<string, TortureSuite>> = {
  rcu: {
    name: 'rcu',
    module: 'rcutorture',
    kconfigOption: 'CONFIG_RCU_TORTURE_TEST',
    shutdown: 'seconds',
    statIntervalSeconds: 15,
    hotplugArgs: ['onoff_interval=1000', 'onoff_holdoff=30'],
    defaultArgs: ['n_barrier_cbs=4', 'test_no_idle_hz=1', 'verbose=1'],
    reportsGracePeriods: true,
  },
  lock: {
    name: 'lock',
    module: 'locktorture',
    kconfigOption: 'CONFIG_LOCK_TORTURE_TEST',
    shutdown: 'seconds',
    statIntervalSeconds: 15,
    hotplugArgs: ['onoff_interval=3', 'onoff_holdoff=30'],
    defaultArgs: ['verbose=1'],
    reportsGracePeriods: false,
  },
  scf: {
    name: 'scf',
    module: 'scftorture',
    kconfigOption: 'CONFIG_SCF_TORTURE_TEST',
    shutdown: 'seconds',
    statIntervalSeconds: 15,
    hotplugArgs: ['onoff_interval=1000', 'onoff_holdoff=30'],
    defaultArgs: ['verbose=1'],
    reportsGracePeriods: false,
  },
  rcuscale: {
    name: 'rcuscale',
    module: 'rcuscale',
    kconfigOption: 'CONFIG_RCU_SCALE_TEST',
    shutdown: 'when-done',
    defaultArgs: ['verbose=0'],
    reportsGracePeriods: false,
  },
  refscale: {
    name: 'refscale',
    module: 'refscale',
    kconfigOption: 'CONFIG_RCU_REF_SCALE_TEST',
    shutdown: 'when-done',
    defaultArgs: ['verbose=0'],
    reportsGracePeriods: false,
  },
};

export function getSuite(name: string): TortureSuite {
  // Own properties only: a torture_suite file saying `constructor` must not find Object's.
  const suite = Object.prototype.hasOwnProperty.call(SUITES, name) ? SUITES[name] : undefined;
  if (!suite) {
    throw new KvmFarmError(
      'KVMFARM_BAD_ARGUMENT',
      `--torture "${printable(name)}" is not a known suite; known: ${Object.keys(SUITES).join(', ')}`,
    );
  }
  return suite;
}

export interface SuiteBootArgsInput {
  /** Boot arguments already chosen (the scenario's .boot, then --bootargs). */
  bootArgs: string[];
  /** Whether the kernel can hotplug CPUs (CONFIG_HOTPLUG_CPU=y in the fragment). */
  hotplugCpu: boolean;
  /** Test duration in seconds. */
  seconds: number;
}

/**
 * The suite's own parameters appended to a guest's boot line: its shutdown,
 * statistics interval, hotplug and defaults, each left out when the line already
 * sets that parameter, so a scenario or --bootargs always wins.
 */
export function suiteBootArgs(suite: TortureSuite, input: SuiteBootArgsInput): string[] {
  const prefix = `${suite.module}.`;
  const has = (param: string) => input.bootArgs.some((arg) => arg.startsWith(`${prefix}${param}=`));
  const anyTortureHotplug = input.bootArgs.some((arg) => /torture\.onoff_/.test(arg));
  const out: string[] = [];
  if (suite.hotplugArgs && input.hotplugCpu && !anyTortureHotplug) {
    out.push(...suite.hotplugArgs.map((a) => prefix + a));
  }
  if (suite.statIntervalSeconds !== undefined && !has('stat_interval')) {
    out.push(`${prefix}stat_interval=${suite.statIntervalSeconds}`);
  }
  if (suite.shutdown === 'seconds') {
    if (!has('shutdown_secs')) out.push(`${prefix}shutdown_secs=${input.seconds}`);
  } else if (!has('shutdown')) {
    out.push(`${prefix}shutdown=1`);
  }
  for (const arg of suite.defaultArgs) {
    const param = arg.slice(0, arg.indexOf('='));
    if (!has(param)) out.push(prefix + arg);
  }
  return out;
}
