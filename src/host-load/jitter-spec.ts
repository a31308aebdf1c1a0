import { KvmFarmError } from '../util/errors.js';

/**
 * kvm.sh's `--jitter "N [maxsleep [maxspin]]"`: N host processes that keep hopping to
 * a random CPU, sleeping up to maxsleep microseconds and then spinning up to maxspin,
 * so the guests' vCPUs are preempted at random moments as on a busy machine.
 */
export interface JitterSettings {
  /** Processes per batch: 0 none, -1 one per CPU of the run (kvm.sh's default). */
  processes: number;
  /** Longest sleep between two spins, in microseconds. */
  maxSleepUs: number;
  /** Longest busy spin, in microseconds. */
  maxSpinUs: number;
}

/** kvm.sh's defaults: one process per CPU, sleeps up to a second, spins up to a millisecond. */
export const JITTER_DEFAULTS: JitterSettings = { processes: -1, maxSleepUs: 1_000_000, maxSpinUs: 1_000 };

/** The scaling suites measure speed: kvm.sh turns jitter off for them unless asked. */
export const NO_JITTER_SUITES: readonly string[] = ['rcuscale', 'refscale'];

/** Bounds that keep a typo from forking thousands of processes or sleeping for hours. */
const MAX_PROCESSES = 1024;
const MAX_MICROSECONDS = 60_000_000;

/** Reads kvm.sh's value syntax, `-1`, `4`, `4 500000`, `4 500000 2000`; one line names a bad value. */
export function parseJitter(text: string): JitterSettings {
  const words = text.trim().split(/\s+/);
  const bad = (why: string) => new KvmFarmError('KVMFARM_BAD_ARGUMENT', `--jitter "${text}": ${why}; give "N [maxsleep-us [maxspin-us]]", N = -1 for one per CPU, 0 for none`);
  if (words.length < 1 || words.length > 3 || words[0] === '') throw bad('expected one to three numbers');
  if (!/^-?\d+$/.test(words[0]!)) throw bad(`"${words[0]}" is not a whole number`);
  const processes = Number(words[0]);
  if (processes < -1 || processes > MAX_PROCESSES) throw bad(`N must be from -1 to ${MAX_PROCESSES}`);
  const micros = (word: string | undefined, fallback: number, name: string): number => {
    if (word === undefined) return fallback;
    if (!/^\d+$/.test(word) || Number(word) > MAX_MICROSECONDS) throw bad(`${name} "${word}" must be a whole number of microseconds up to ${MAX_MICROSECONDS}`);
    return Number(word);
  };
  return {
    processes,
    maxSleepUs: micros(words[1], JITTER_DEFAULTS.maxSleepUs, 'maxsleep'),
    maxSpinUs: micros(words[2], JITTER_DEFAULTS.maxSpinUs, 'maxspin'),
  };
}

/** How many processes a batch gets: -1 means one per CPU the run may use. */
export function jitterProcessCount(settings: JitterSettings, runCpus: number): number {
  return settings.processes === -1 ? runCpus : settings.processes;
}
