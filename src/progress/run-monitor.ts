import { open } from 'node:fs/promises';
import { classifyLine, displayLine, parseStatVersion } from '../analyze/line-kinds.js';
import { FAILING_KINDS } from '../analyze/diags.js';
import type { ProblemKind, Verdict } from '../analyze/types.js';
import type { BuildEvent } from '../build/types.js';

/**
 * What a local run (kvm-run, kvm-again) tells about itself as it goes. The run calls
 * these; a display listens. Each is optional so a library caller can take only some.
 */
export interface RunProgressListener {
  build?(event: BuildEvent): void;
  guestStarted?(guest: { instance: string; consoleLog: string; durationSeconds: number }): void;
  guestEnded?(instance: string, verdict: Verdict): void;
}

export interface BuildProgress {
  label: string;
  phase: BuildEvent['phase'];
  elapsedMs: number;
  /** make's latest line, or how the build ended. */
  detail?: string;
  status?: string;
}

export interface GuestProgress {
  instance: string;
  durationSeconds: number;
  startedMs: number;
  endedMs?: number;
  verdict?: Verdict;
  /** The last statistics count seen in the console so far. */
  gracePeriods: number | null;
  /** Trouble seen so far: a count per kind and the first line of the gravest. */
  trouble: Partial<Record<ProblemKind, number>>;
  firstTrouble?: string;
}

export interface RunSnapshot {
  builds: BuildProgress[];
  guests: GuestProgress[];
}

/** Something a plain-line display prints at once. */
export type MonitorNotice = { kind: 'trouble'; instance: string; problem: ProblemKind; line: string };

/** Bytes read from one console per poll: a guest flooding its console cannot stall the display. */
const MAX_READ = 1 << 20;

interface Watched extends GuestProgress {
  consoleLog: string;
  offset: number;
  partial: string;
}

/**
 * The state of a local run for its live display: builds from their events, guests
 * from their start and end, and each running guest's console read incrementally
 * (only the bytes new since the last poll) for its grace periods and trouble so far.
 */
export class RunMonitor implements RunProgressListener {
  private readonly builds = new Map<string, BuildProgress>();
  private readonly guests = new Map<string, Watched>();

  constructor(
    private readonly notice: (n: MonitorNotice) => void = () => {},
    private readonly now: () => number = Date.now,
  ) {}

  build(event: BuildEvent): void {
    this.builds.set(event.label, {
      label: event.label,
      phase: event.phase,
      elapsedMs: event.elapsedMs,
      ...(event.detail !== undefined ? { detail: event.detail.trim() } : {}),
      ...(event.status !== undefined ? { status: event.status } : {}),
    });
  }

  guestStarted(guest: { instance: string; consoleLog: string; durationSeconds: number }): void {
    this.guests.set(guest.instance, { ...guest, startedMs: this.now(), gracePeriods: null, trouble: {}, offset: 0, partial: '' });
  }

  guestEnded(instance: string, verdict: Verdict): void {
    const g = this.guests.get(instance);
    if (!g) return;
    g.endedMs = this.now();
    g.verdict = verdict;
    if (verdict.gracePeriods !== undefined) g.gracePeriods = verdict.gracePeriods;
  }

  private polling: Promise<void> | null = null;

  /** Reads what each running guest printed since the last poll; a poll while one runs joins it. */
  poll(): Promise<void> {
    this.polling ??= Promise.all([...this.guests.values()].filter((g) => g.endedMs === undefined).map((g) => this.read(g))).then(
      () => {
        this.polling = null;
      },
      (error: unknown) => {
        this.polling = null;
        throw error;
      },
    );
    return this.polling;
  }

  snapshot(): RunSnapshot {
    const guests = [...this.guests.values()].map(({ consoleLog: _c, offset: _o, partial: _p, ...g }) => ({ ...g, trouble: { ...g.trouble } }));
    return { builds: [...this.builds.values()].map((b) => ({ ...b })), guests };
  }

  private async read(g: Watched): Promise<void> {
    let handle;
    try {
      handle = await open(g.consoleLog, 'r');
    } catch {
      return; // not written yet
    }
    try {
      const buf = Buffer.alloc(MAX_READ);
      const { bytesRead } = await handle.read(buf, 0, MAX_READ, g.offset);
      if (bytesRead === 0) return;
      g.offset += bytesRead;
      const lines = (g.partial + buf.subarray(0, bytesRead).toString('utf8')).split('\n');
      g.partial = lines.pop() ?? '';
      for (const line of lines) this.look(g, line);
    } finally {
      await handle.close();
    }
  }

  private look(g: Watched, line: string): void {
    const count = parseStatVersion(line);
    if (count !== null) g.gracePeriods = count;
    const problem = classifyLine(line);
    if (problem === null) return;
    g.trouble[problem] = (g.trouble[problem] ?? 0) + 1;
    if (g.trouble[problem] === 1 && FAILING_KINDS.has(problem)) {
      const text = displayLine(line, 160);
      g.firstTrouble ??= text;
      this.notice({ kind: 'trouble', instance: g.instance, problem, line: text });
    }
  }
}
