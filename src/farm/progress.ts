import { realClock, type Clock } from './clock.js';
import type { HostState } from './host-state.js';

/** Where a remote run stands, for a live display or a progress line. */
export interface RemoteProgress {
  hosts: { name: string; state: HostState }[];
  batches: { done: number; running: number; queued: number };
  judged: number;
  instances: number;
  elapsedMs: number;
  /** Until the last batch ends, estimated from each host's queue; null before the run phase. */
  remainingMs: number | null;
}

interface HostPace {
  runningSince: number | null;
  /** Wall time of the batches this host finished, to estimate its next ones. */
  batchMs: number[];
}

/**
 * Counts batches and judgements as they happen and estimates the time left: per host,
 * what its running batch still needs at the pace it has shown (the test duration until
 * it has shown one), plus a share of the shared queue; the run ends with its slowest host.
 */
export class ProgressCounter {
  private readonly paces = new Map<string, HostPace>();
  private readonly started: number;
  private runPhase = false;
  private judgedCount = 0;

  constructor(
    private readonly instances: number,
    private readonly durationMs: number,
    private readonly hostStates: () => { name: string; state: HostState }[],
    private readonly notify: (progress: RemoteProgress) => void,
    /** Batches the shared queue still holds, estimated (hosts pack them as they take them). */
    private readonly pendingBatches: () => number = () => 0,
    private readonly clock: Clock = realClock,
  ) {
    this.started = clock.now();
  }

  batchStarted(host: string): void {
    const q = this.pace(host);
    this.runPhase = true;
    q.runningSince = this.clock.now();
    this.emit();
  }

  batchEnded(host: string): void {
    const q = this.pace(host);
    if (q.runningSince !== null) q.batchMs.push(this.clock.now() - q.runningSince);
    q.runningSince = null;
    this.emit();
  }

  judged(): void {
    this.judgedCount++;
    this.emit();
  }

  snapshot(now = this.clock.now()): RemoteProgress {
    const all = [...this.paces.values()];
    const done = all.reduce((n, q) => n + q.batchMs.length, 0);
    const running = all.filter((q) => q.runningSince !== null).length;
    const shared = this.pendingBatches();
    const remaining = all.map((q) => {
      const pace = q.batchMs.length > 0 ? q.batchMs.reduce((a, b) => a + b, 0) / q.batchMs.length : this.durationMs;
      return q.runningSince === null ? 0 : Math.max(0, pace - (now - q.runningSince));
    });
    return {
      hosts: this.hostStates(),
      batches: { done, running, queued: shared },
      judged: this.judgedCount,
      instances: this.instances,
      elapsedMs: now - this.started,
      // Queued work spreads over the hosts: a rough share each on top of the slowest host's own.
      remainingMs: this.runPhase ? Math.max(0, ...remaining) + Math.ceil(shared / Math.max(1, all.length)) * this.durationMs : null,
    };
  }

  private emit(): void {
    this.notify(this.snapshot());
  }

  private pace(host: string): HostPace {
    let q = this.paces.get(host);
    if (!q) {
      q = { runningSince: null, batchMs: [] };
      this.paces.set(host, q);
    }
    return q;
  }
}

/** `hosts 3 (3 running) | batches 2 done, 3 running, 1 queued | judged 4/6 | 1m05s elapsed, ~40s left` */
export function formatProgress(p: RemoteProgress): string {
  const states = new Map<string, number>();
  for (const h of p.hosts) states.set(h.state, (states.get(h.state) ?? 0) + 1);
  const hostPart = [...states].map(([state, n]) => `${n} ${state}`).join(', ');
  const left = p.remainingMs === null ? '' : `, ~${clock(p.remainingMs)} left`;
  return `hosts ${p.hosts.length} (${hostPart}) | batches ${p.batches.done} done, ${p.batches.running} running, ${p.batches.queued} queued | judged ${p.judged}/${p.instances} | ${clock(p.elapsedMs)} elapsed${left}`;
}

function clock(ms: number): string {
  const s = Math.round(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}
