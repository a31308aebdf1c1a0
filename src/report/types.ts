import type { Verdict, VerdictKind } from '../analyze/types.js';
import type { Accel, GuestRun, InfraFaultKind } from '../qemu/types.js';

/** How an instance's kernel came to be. */
export type KernelSource = 'built' | 'cached' | 'deduplicated' | 'build-failed' | 'reused';

/** Everything known about one scenario instance at the end of a run. */
export interface InstanceResult {
  instance: string;
  scenario: string;
  /** Where the guest ran (`localhost`, a host name); absent when it never booted. */
  host?: string;
  /** Batch number in the run's `scenarios` file. */
  batch: number;
  cpus: number;
  /** The host CPUs its qemu was pinned to (`0-1`); absent when unpinned. */
  affinity?: string;
  /** The judgement; absent for a kernel built by --buildonly and never booted. */
  verdict?: Verdict;
  kernel: {
    source: KernelSource;
    version?: string;
    buildMs?: number;
    /** When its build (or cache look-up) started, ISO time. */
    buildStartedAt?: string;
    /** `CONFIG_X: wanted y, got n` lines from the config check. */
    configMismatches: string[];
  };
  guest?: GuestRun;
  /** Non-fatal notes: CPU count limited, rerun after host loss, ... */
  warnings: string[];
  /** Attempts ended by a fault of their host (never judged): where, which attempt, what. */
  infraFaults?: { host: string; attempt: number; kind: InfraFaultKind; detail: string }[];
}

/** The result of a whole run: what kvm-run prints, writes to summary.json and returns to scripts. */
export interface RunSummary {
  runDir: string;
  suite: string;
  /** The scenario directory (`source`: given by --scenarios, the kernel tree's own, or bundled); absent for reruns. */
  scenarios?: { dir: string; source: 'given' | 'tree' | 'bundled' };
  startedAt: string;
  endedAt: string;
  /** Test duration each guest was given, in seconds. */
  durationSeconds: number;
  accel?: Accel;
  /** Why that accelerator (`/dev/kvm present but a KVM guest made no progress in 3 s`). */
  accelReason?: string;
  buildonly: boolean;
  interrupted: boolean;
  instances: InstanceResult[];
  totals: Record<VerdictKind, number>;
  /** 0 only when every instance passed (or, for --buildonly, every kernel built). */
  exitCode: number;
}
