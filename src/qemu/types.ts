/** The accelerator a guest runs under. */
export type Accel = 'kvm' | 'tcg';

/**
 * One record per guest, the same fields whether it passed, failed, hung or never
 * started. Judging reads this; it never catches exceptions to decide.
 */
export interface GuestRun {
  /** Scenario instance name (`TINY01.2`). */
  instance: string;
  /** Where it ran: `localhost` or a host name. */
  host: string;
  /** qemu's exit code; null when it was killed or never started. */
  exitCode: number | null;
  /** Signal that ended qemu (`SIGKILL`), or null. */
  signal: string | null;
  /** Killed after duration plus grace while the console no longer advanced. */
  timedOut: boolean;
  /**
   * Killed because the console stayed empty past the boot limit. Empty of kernel
   * output: firmware banners (SeaBIOS prints one under -nographic) do not count.
   */
  noOutput: boolean;
  /** Ended early by a STOP file or an interrupt. */
  stopped: boolean;
  /** Why qemu could not be started at all (missing binary, bad argument): an infrastructure error. */
  startError: string | null;
  durationMs: number;
  /** When qemu was started (ISO time), for the report's timeline; absent in records from before it was kept. */
  startedAt?: string;
  /** Absolute path of the console log. */
  logPath: string;
  /** The random token put on this guest's kernel command line. */
  token: string;
  accel: Accel;
  /** Set when the guest met a fault of its host (qemu killed, disk full, qemu missing): never the kernel's to judge. */
  infraFault?: InfraFault;
}

/** Faults of the host a guest can meet; each is named in summary.json. */
export type InfraFaultKind = 'qemu-killed' | 'qemu-crashed' | 'qemu-missing' | 'qemu-start-failed' | 'disk-full';

export interface InfraFault {
  kind: InfraFaultKind;
  /** One printable line: which host, what it said. */
  detail: string;
}

/**
 * A guest's qemu command line plus the `# NAME=value` settings rcutorture appends to
 * its qemu-cmd file (TORTURE_SHUTDOWN_GRACE, seconds, TORTURE_CPU_COUNT, and ours:
 * KVMFARM_TOKEN, KVMFARM_ACCEL). The qemu-cmd file holds exactly this.
 */
export interface QemuCommand {
  /** The binary first, then its arguments, one word each. */
  argv: string[];
  settings: Record<string, string>;
}
