import type { VerdictKind } from '../../analyze/types.js';
import type { InstanceResult, RunSummary } from '../types.js';

/** What kvm-remote adds to a summary; the report reads only these fields of it. */
export interface ReportHost {
  name: string;
  state: string;
  failure: string | null;
  losses: number;
  cpus?: number;
  accel?: string;
  batches: { number: number; instances: string[]; startedMs: number; endedMs: number }[];
}

/** The run's facts that are not in summary.json, read from the run directory. */
export interface RunFacts {
  commandLine?: string;
  kernelTree?: string;
  commit?: string;
  /** CPUs of this machine, for a local run. */
  localCpus?: number;
  generatedAt: string;
}

export interface ReportInput {
  summary: RunSummary & { hosts?: ReportHost[] };
  facts: RunFacts;
}

export type BarKind = 'guest' | 'build' | 'lost';

/** One bar of the timeline, in milliseconds from the timeline's origin. */
export interface Bar {
  lane: number;
  /** Row within the lane, when guests overlap on one host. */
  row: number;
  startMs: number;
  endMs: number;
  kind: BarKind;
  /** The verdict colour of a guest bar. */
  verdict?: VerdictKind;
  instance: string;
  label: string;
}

export interface Lane {
  name: string;
  note: string;
  rows: number;
  /** Rows the lane takes at least: a host's lane has room to print its state under its name. */
  minRows?: number;
}

export interface Timeline {
  lanes: Lane[];
  bars: Bar[];
  spanMs: number;
  /** What time zero is. */
  origin: string;
}

/**
 * The timeline: one lane per host for a farm run (its batches, lost attempts
 * marked), else one lane for builds and one per set of CPUs that ran guests side
 * by side. Overlapping bars in a lane go on rows of their own.
 */
export function buildTimeline(input: ReportInput): Timeline {
  const { summary } = input;
  return summary.hosts && summary.hosts.length > 0 ? farmTimeline(summary, summary.hosts) : localTimeline(summary);
}

function farmTimeline(summary: RunSummary, hosts: ReportHost[]): Timeline {
  const byId = new Map(summary.instances.map((x) => [x.instance, x]));
  const bars: Bar[] = [];
  const lanes: Lane[] = hosts.map((h, lane) => {
    for (const b of h.batches) {
      for (const id of b.instances) {
        const x = byId.get(id);
        // The instance ended elsewhere, or was given up on here: this attempt was lost with the host.
        const lost = !x || x.host !== h.name || (x.verdict?.kind === 'infra-error' && x.warnings.some((w) => w.includes('host loss')));
        bars.push({
          lane,
          row: 0,
          startMs: b.startedMs,
          endMs: Math.max(b.endedMs, b.startedMs + 1),
          kind: lost ? 'lost' : 'guest',
          ...(lost || !x?.verdict ? {} : { verdict: x.verdict.kind }),
          instance: id,
          label: `${id} (batch ${b.number})${lost ? ': lost with the host' : x?.verdict ? `: ${x.verdict.kind}` : ''}`,
        });
      }
    }
    const state = h.failure ? `${h.state}: ${h.failure}` : h.state;
    return { name: h.name, note: `${h.cpus === undefined ? '?' : h.cpus} CPUs, ${state}${h.losses > 0 ? `, lost ${h.losses}x` : ''}`, rows: 1, minRows: 2 };
  });
  return finish(lanes, bars, 'the end of shipping (the farm epoch)');
}

function localTimeline(summary: RunSummary): Timeline {
  const t0 = Date.parse(summary.startedAt);
  const bars: Bar[] = [];
  const builds = new Map<string, Bar>();
  for (const x of summary.instances) {
    const k = x.kernel;
    if (k.buildStartedAt && k.buildMs !== undefined && (k.source === 'built' || k.source === 'build-failed')) {
      const startMs = Date.parse(k.buildStartedAt) - t0;
      const key = `${startMs}`;
      const known = builds.get(key);
      if (known) known.label += `, ${x.instance}`;
      else builds.set(key, { lane: 0, row: 0, startMs, endMs: startMs + Math.max(1, k.buildMs), kind: 'build', instance: x.instance, label: `build ${k.source}: ${x.instance}` });
    }
  }
  bars.push(...builds.values());
  const guests = summary.instances.flatMap((x) => guestSpan(x, t0));
  // Guests that ran side by side take separate CPU sets: lane i is the i-th set in use at once.
  const laneEnds: number[] = [];
  for (const g of guests.sort((a, b) => a.startMs - b.startMs)) {
    let lane = laneEnds.findIndex((end) => end <= g.startMs);
    if (lane < 0) lane = laneEnds.push(0) - 1;
    laneEnds[lane] = g.endMs;
    bars.push({ ...g, lane: lane + 1 });
  }
  const lanes: Lane[] = [{ name: 'builds', note: 'kernel builds (cached and shared ones take no time)', rows: 1 }];
  laneEnds.forEach((_, i) => lanes.push({ name: `localhost CPU set ${i + 1}`, note: 'guests that ran side by side', rows: 1 }));
  return finish(lanes, bars, `the run's start, ${summary.startedAt}`);
}

function guestSpan(x: InstanceResult, t0: number): Bar[] {
  const g = x.guest;
  if (!g) return [];
  // A record from before start times were kept has no place on the timeline; the table still lists it.
  const start = g.startedAt ? Date.parse(g.startedAt) - t0 : undefined;
  if (start === undefined || !Number.isFinite(start)) return [];
  return [
    {
      lane: 0,
      row: 0,
      startMs: start,
      endMs: start + Math.max(1, g.durationMs),
      kind: 'guest',
      ...(x.verdict ? { verdict: x.verdict.kind } : {}),
      instance: x.instance,
      label: `${x.instance}: ${x.verdict?.kind ?? 'not judged'}${x.verdict?.title ? ` (${x.verdict.title})` : ''}`,
    },
  ];
}

/** Rows within each lane for overlapping bars, and the time span. */
function finish(lanes: Lane[], bars: Bar[], origin: string): Timeline {
  for (const [index, lane] of lanes.entries()) {
    const rowEnds: number[] = [];
    for (const bar of bars.filter((b) => b.lane === index).sort((a, b) => a.startMs - b.startMs || a.instance.localeCompare(b.instance))) {
      let row = rowEnds.findIndex((end) => end <= bar.startMs);
      if (row < 0) row = rowEnds.push(0) - 1;
      rowEnds[row] = bar.endMs;
      bar.row = row;
    }
    lane.rows = Math.max(lane.minRows ?? 1, rowEnds.length);
  }
  const spanMs = Math.max(1000, ...bars.map((b) => b.endMs));
  return { lanes, bars, spanMs, origin };
}
