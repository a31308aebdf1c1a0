import type { Verdict, VerdictKind } from '../src/analyze/types.js';
import type { ReportHost } from '../src/report/html/model.js';
import type { InstanceResult, RunSummary } from '../src/report/types.js';
import { countVerdicts } from '../src/report/totals.js';

/**
 * A farm run's summary made up for the report bench and tests: `n` instances over
 * `hosts` hosts, one in ten failing with a stall or a busted reader, one host lost
 * halfway with its running batch rerun elsewhere. Deterministic, so sizes compare.
 */
export function syntheticFarmSummary(n: number, hostCount: number, runDir = '/tmp/res/synthetic'): RunSummary & { hosts: ReportHost[] } {
  const duration = 1800;
  const hosts: ReportHost[] = Array.from({ length: hostCount }, (_, i) => ({ name: `host${i + 1}`, state: 'done', failure: null, losses: 0, cpus: 16, accel: 'kvm', batches: [] }));
  const lostHost = hosts[hostCount - 1]!;
  const instances: InstanceResult[] = [];
  const perBatch = 4;
  let batchNo = 0;
  const clock = new Array<number>(hostCount).fill(0);
  for (let i = 0; i < n; i += perBatch) {
    const ids = Array.from({ length: Math.min(perBatch, n - i) }, (_, j) => instanceName(i + j));
    let h = batchNo % hostCount;
    const start = clock[h]!;
    const lost = h === hostCount - 1 && start > 0 && lostHost.losses === 0;
    if (lost) {
      // The last host drops out under this batch; its guests rerun on host 1.
      hosts[h]!.batches.push({ number: ++batchNo, instances: ids, startedMs: start, endedMs: start + duration * 400 });
      lostHost.losses = 1;
      lostHost.state = 'failed';
      lostHost.failure = 'ssh connection lost: read ECONNRESET';
      h = 0;
    }
    if (lostHost.losses > 0 && h === hostCount - 1) h = 0;
    const at = clock[h]!;
    hosts[h]!.batches.push({ number: ++batchNo, instances: ids, startedMs: at, endedMs: at + duration * 1000 + 20_000 });
    clock[h] = at + duration * 1000 + 25_000;
    ids.forEach((id, j) => instances.push(instanceOf(id, i + j, hosts[h]!.name, batchNo, duration, lost ? lostHost.name : undefined)));
  }
  const summary: RunSummary & { hosts: ReportHost[] } = {
    runDir,
    suite: 'rcu',
    startedAt: '2026-12-01T20:00:00.000Z',
    endedAt: new Date(Date.parse('2026-12-01T20:00:00.000Z') + Math.max(...clock)).toISOString(),
    durationSeconds: duration,
    accel: 'kvm',
    accelReason: '/dev/kvm usable',
    buildonly: false,
    interrupted: false,
    instances,
    totals: countVerdicts(instances),
    exitCode: 1,
    hosts,
  };
  return summary;
}

const SCENARIOS = ['TREE01', 'TREE02', 'TREE03', 'TREE04', 'TREE05', 'TREE07', 'SRCU-N', 'TASKS01', 'TINY01', 'BUSTED01'];

function instanceName(i: number): string {
  const scenario = SCENARIOS[i % SCENARIOS.length]!;
  const round = Math.floor(i / SCENARIOS.length);
  return round === 0 ? scenario : `${scenario}.${round + 1}`;
}

function instanceOf(id: string, i: number, host: string, batch: number, duration: number, lostOn: string | undefined): InstanceResult {
  const kind: VerdictKind = i % 10 === 9 ? 'fail' : i % 37 === 5 ? 'warn' : 'pass';
  const gps = 40_000 + ((i * 7919) % 20_000);
  const series: [number, number][] = Array.from({ length: 100 }, (_, k) => [5 + k * (duration / 100), Math.round((gps * k) / 99)]);
  const verdict: Verdict = {
    instance: id,
    kind,
    reasons: kind === 'fail' ? ['FAILURE: 57 instances', '"!!!" error lines x3'] : kind === 'warn' ? ['Warnings x1'] : [],
    quoted:
      kind === 'fail'
        ? [`[  ${900 + i}.1234] rcu-torture: !!! Reader Pipe:  ${gps} 57 0 0 0 0 0 0 0 0 0 <script>alert(1)</script>`, `[  ${901 + i}.5] WARNING: CPU: ${i % 16} PID: ${70 + i} at kernel/rcu/rcutorture.c:1700 rcu_torture_stats_print+0x5a/0x6b0`]
        : kind === 'warn'
          ? [`[  ${12 + i}.0] ACPI Warning: SystemIO range conflicts`]
          : [],
    ...(kind === 'fail' ? { title: 'rcu-torture: !!! Reader Pipe', quotedLines: [4000 + i, 4001 + i] } : kind === 'warn' ? { title: 'ACPI Warning: SystemIO range conflicts', quotedLines: [120] } : {}),
    gracePeriods: gps,
    gracePeriodRate: Math.round((gps / duration) * 100) / 100,
    gpSeries: series,
  };
  return {
    instance: id,
    scenario: id.split('.')[0]!,
    host,
    batch,
    cpus: 4,
    verdict,
    kernel: { source: i < SCENARIOS.length ? 'built' : 'deduplicated', version: '6.1.158', buildMs: i < SCENARIOS.length ? 240_000 : 0, configMismatches: [] },
    guest: {
      instance: id,
      host,
      exitCode: 0,
      signal: null,
      timedOut: false,
      noOutput: false,
      stopped: false,
      startError: null,
      durationMs: duration * 1000 + 15_000,
      logPath: `/tmp/res/synthetic/${id}/console.log`,
      token: `tok${i}`,
      accel: 'kvm',
    },
    warnings: lostOn ? [`rerun after host loss (${lostOn})`, `partial console kept as console.log.${lostOn}-1`] : [],
  };
}
