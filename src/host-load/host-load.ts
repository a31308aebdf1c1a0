import { allowedCpus } from './affinity.js';
import { jitterProcessCount, type JitterSettings } from './jitter-spec.js';

/** What a local run does on the host around its guests, as kvm.sh does: jitter and CPU pinning. */
export interface HostLoad {
  /** Jitter processes per batch (0: none), and how they behave. */
  jitter: { count: number; settings: JitterSettings };
  /** CPUs this process may use: the jitter hops between them, and guests are pinned to them when `pinGuests`. */
  cpus: number[];
  pinGuests: boolean;
}

/** The host load of a run planned into `runCpus` CPUs. */
export function hostLoadFor(jitter: JitterSettings, runCpus: number, pinGuests: boolean): HostLoad {
  return { jitter: { count: jitterProcessCount(jitter, runCpus), settings: jitter }, cpus: allowedCpus(), pinGuests };
}
