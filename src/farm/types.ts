import type { AgainOptions } from '../again/again.js';
import type { Accel } from '../qemu/types.js';
import type { RunSummary } from '../report/types.js';
import type { RunKvmOptions } from '../run/kvm-run.js';
import type { AccelRequest } from '../run/options.js';
import type { HostState } from './host-state.js';
import type { MissingHost } from './quorum.js';
import type { RemoteProgress } from './progress.js';
import type { BuildOn } from './build-policy.js';
import type { FarmBuildReport } from './build-farm.js';
import type { SlurmRequest } from '../slurm/allocation.js';

/** Where the kernels come from: a fresh build (kvm-run options) or an earlier run (kvm-again options). */
export type RemoteSource =
  | { kind: 'build'; options: Omit<RunKvmOptions, 'buildonly' | 'log' | 'signal'> }
  | { kind: 'again'; options: Omit<AgainOptions, 'dryrun' | 'log' | 'signal'> };

/** kvm-remote as a library call. */
export interface RemoteOptions {
  /** Host names as ssh knows them (aliases, `user@host:port`); `localhost` runs on this machine without ssh. Empty with `slurm`. */
  hosts: string[];
  /** Run on a Slurm allocation instead (`kvm-remote --slurm`): its nodes are the hosts, each command a job step. */
  slurm?: SlurmRequest;
  source: RemoteSource;
  /** Per-host work area: `kernels/` (content-addressed, kept between runs) and `runs/<run>/`. Default /tmp/kvm-farm. */
  remoteDir?: string;
  /** Hosts receiving their tarball at once; 1 ships one host after another as kvm-remote.sh does. Default: all. */
  shipConcurrency?: number;
  /** Leave each host's `runs/<run>/` in place (the kernel store is always kept). */
  keepRemote?: boolean;
  /** Record unknown host keys in known_hosts instead of refusing them. */
  acceptNewHostKeys?: boolean;
  /** Like `ssh -F`: only this client config is read. */
  sshConfigFile?: string;
  /** ssh-agent socket; default $SSH_AUTH_SOCK, null for none. */
  agent?: string | null;
  /** Accelerator every host is probed for. Default auto. */
  accel?: AccelRequest;
  /** Longest a connection attempt may take. */
  connectTimeoutMs?: number;
  /** Longest one host may take to receive its tarball. Default 10 minutes. */
  shipTimeoutMs?: number;
  /** `--min-hosts`: hosts that must be ready before the run starts. Default: every host listed. */
  minHosts?: number;
  /**
   * `--gather-timeout`: once `minHosts` are ready, wait this long for the rest; and the
   * limit for reaching `minHosts` at all. Default DEFAULTS.gatherTimeoutMs.
   */
  gatherTimeoutMs?: number;
  /** `--retries`: reruns of an instance whose host was lost under it. Default 1. */
  retries?: number;
  /** `--build-on`: build kernels on the hosts (default when one can) or here. Only for a fresh build. */
  buildOn?: BuildOn;
  /** `--buildonly`: build (on the hosts) and leave the run directory as `kvm-run --buildonly` does; boot nothing. */
  buildonly?: boolean;
  /** `--lost-grace`: a lost host's guests are waited for this long (ms) before they are rerun elsewhere. Default DEFAULTS.lostGraceMs. */
  lostGraceMs?: number;
  log?: (line: string) => void;
  /** Called whenever a batch starts or ends or a guest is judged. */
  onProgress?: (progress: RemoteProgress) => void;
  signal?: AbortSignal;
}

/** What kvm-remote knows about one host at the end of a run. */
export interface HostReport {
  name: string;
  state: HostState;
  /** Why the host was left out, failed or was lost at the end; null when it served the run to its end. */
  failure: string | null;
  /** Set when a fault that stays with the host (disk full, qemu missing) stopped it taking work: why. */
  benched?: string;
  /** Times the host was lost during the run (it may have rejoined). */
  losses: number;
  cpus?: number;
  accel?: Accel;
  accelReason?: string;
  freeBytes?: number;
  /** Kernel and initrd bytes sent (content the host already held is not sent). */
  blobBytesShipped: number;
  /** Every byte of the tar stream, headers and qemu-cmd files included. */
  tarBytesShipped: number;
  /** From "tarball ready" until the host held every kernel its batches need. */
  shipMs?: number;
  batches: RemoteBatchReport[];
}

export interface RemoteBatchReport {
  number: number;
  instances: string[];
  /** Milliseconds since the run's epoch (the moment shipping ended). */
  startedMs: number;
  endedMs: number;
}

/** A run summary (as kvm-run's) plus what happened on each host. */
export interface RemoteSummary extends RunSummary {
  hosts: HostReport[];
  /** How the fleet was gathered: who was ready at the start, who was missing and why. */
  quorum: { minHosts: number; ready: string[]; missing: MissingHost[]; trigger: 'all-ready' | 'countdown' | 'failed' | 'interrupted'; elapsedMs: number };
  /** Directory the kernels came from: the --buildonly run, or the earlier run given. */
  sourceRunDir: string;
  /** What the hosts did for the builds: source shipped, builds per host (absent when built here or rerun). */
  builds?: FarmBuildReport;
  timings: {
    /** From "tarball ready" until every host held its kernels. */
    shipAllMs: number;
    /** From the first batch starting until the last guest was judged. */
    runMs: number;
  };
}
