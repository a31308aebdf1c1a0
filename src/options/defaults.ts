import type { LinkMode } from '../again/link.js';
import type { Accel } from '../qemu/types.js';

export type AccelRequest = 'auto' | Accel;
export type CcacheMode = 'auto' | 'on' | 'off';
export type DryrunMode = 'batches' | 'scenarios' | 'sched' | 'script';

export const ACCEL_REQUESTS: readonly AccelRequest[] = ['auto', 'kvm', 'tcg'];
export const CCACHE_MODES: readonly CcacheMode[] = ['auto', 'on', 'off'];
export const DRYRUN_MODES: readonly DryrunMode[] = ['batches', 'scenarios', 'sched', 'script'];

/**
 * Every default of kvm-farm, once. The library fills options from here whichever
 * door they came through (CLI, import), the CLIs' help text prints them from here,
 * and the checks of each value sit beside them in ./limits.ts and ./resolve-*.ts.
 */
export const DEFAULTS = {
  torture: 'rcu',
  /** rcutorture's own default: half an hour per guest. */
  durationSeconds: 30 * 60,
  defconfig: 'defconfig',
  ccache: 'auto' as CcacheMode,
  results: 'res',
  /** Enough for a defconfig kernel and rcutorture's kthreads; kvm.sh's default too. */
  memory: '512M',
  /** A guest that has printed "End of test" still needs time to power off under TCG on a loaded host. */
  shutdownGraceSeconds: 180,
  /** A defconfig kernel under TCG on a busy 2-CPU host prints its banner within a minute; twice that is clearly dead. */
  bootTimeoutSeconds: 120,
  accel: 'auto' as AccelRequest,
  /** kvm.sh's `--jitter` default: one jitter process per CPU of the run while guests run (none for rcuscale/refscale). */
  jitter: '-1',
  /**
   * Under --gdb the guest is halted until a person attaches a debugger and continues,
   * so its boot limit and grace are the largest allowed (1 day, 2 days), not minutes.
   */
  gdbWaitSeconds: { boot: 86_400, grace: 2 * 86_400 },
  link: 'hard' as LinkMode,
  /** Every host has /tmp, and nothing there outlives a reboot that would leave it stale. */
  remoteDir: '/tmp/kvm-farm',
  /** One rerun after a host loss: a second loss of the same instance points at the instance, not the host. */
  retries: 1,
  /**
   * `--lost-grace`: how long a lost host's guests are waited for before they are rerun.
   * A cut is noticed after 3-4 s (keepalives) and a host is reconnected on a backoff of
   * 2, 4, 8, 15 s, so a host back after a 10-30 s blip rejoins within about 45 s of the
   * loss (measured on the test farm: README); a minute covers that with room, costs a
   * dead host's instances only a minute's delay, and ends before the reconnects give up.
   */
  lostGraceMs: 60_000,
  /**
   * Long enough for a host to connect, run the accelerator probe guest and receive its
   * kernels over a slow link; short enough that a dead host delays the run by two minutes at most.
   */
  gatherTimeoutMs: 120_000,
  /** ssh's ConnectTimeout when the config names none. */
  connectTimeoutMs: 10_000,
  /** One tarball of every kernel of a large run over a slow link. */
  shipTimeoutMs: 10 * 60_000,
  /** One kernel build on a host: a defconfig build on one slow CPU can take an hour or more. */
  buildTimeoutMs: 3 * 60 * 60_000,
  /** The first shipment of a whole kernel tree (~1.4 GB) to a host. */
  sourceShipTimeoutMs: 30 * 60_000,
  /**
   * `kvm-remote --slurm`: longest salloc may wait in the queue for its allocation. A busy
   * site's queue can take a while; past an hour the run is better resubmitted (or given
   * salloc's own `--immediate=S` / `--begin`).
   */
  slurmQueueTimeoutMs: 60 * 60_000,
} as const;

/** How a default reads in `--help`. */
export function defaultText(key: keyof typeof DEFAULTS): string {
  const value = DEFAULTS[key];
  if (key.endsWith('Ms')) return `${Number(value) / 1000}s`;
  if (key === 'durationSeconds') return `${Number(value) / 60}`;
  return String(value);
}
