/**
 * kvm-remote on the test farm (namespace sshd hosts of 1, 2 and 2 CPUs), real kernels
 * (UP01-SMALL, TREE02C-SMALL, BUSTED01-SMALL, cached builds), TCG:
 * (a) "tarball ready" until every host holds its kernels, --ship-concurrency 1 against
 *     the default, and kernel bytes sent by a rerun of the same kernels (target 0);
 * (b) idle time on a host between one batch ending and the next starting (target < 1 s);
 * (c) wall time of the run phase against the ideal makespan (target within 5 %).
 * Also how much gzip and zstd would save on the kernels actually shipped.
 * Needs root. Run alone: `npm run build && node dist/bench/remote-bench.js [kernel-dir]`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { execa } from 'execa';
import { remoteRun, type RemoteSummary } from '../src/farm/index.js';
import { cleanupStaleFarms, createFarm, type Farm } from '../test/transport/farm.js';
import { smallRunOptions } from '../test/helpers/run-options.js';

export interface RemoteBenchOptions {
  kernelDir?: string;
  /** Test duration of the makespan run, seconds. Default 20. */
  durationSeconds?: number;
  log?: (line: string) => void;
}

export interface RemoteBenchResult {
  ship: { sequentialMs: number; concurrentMs: number; perHostSequential: Record<string, number>; perHostConcurrent: Record<string, number>; kernelBytes: number; rerunKernelBytes: number; rerunTarBytes: number };
  /** gapsMs: as the coordinator sees it (last exit event to next spawn); hostGapsMs: on the host, last console write of a batch to the next batch's console being created. */
  idle: { gapsMs: number[]; maxMs: number; hostGapsMs: number[]; hostMaxMs: number };
  makespan: { wallMs: number; idealMs: number; longestMs: number; cpuSecondsPerCpuMs: number; overPercent: number; hostCpus: number };
  compression: { bytes: number; gzipRatio: number; gzipMBps: number; zstdRatio: number; zstdMBps: number; shipMBps: number };
}

const HOSTS = [{ name: 'b1', cpus: 1 }, { name: 'b2', cpus: 2 }, { name: 'b3', cpus: 2 }];
/** 10 CPU-units on 5 host CPUs: the hosts can pack it into two full rounds each. */
const CONFIGS = '4*UP01-SMALL 2*TREE02C-SMALL BUSTED01-SMALL';

export async function benchRemote(options: RemoteBenchOptions = {}): Promise<RemoteBenchResult> {
  const log = options.log ?? (() => {});
  const kernelDir = options.kernelDir ?? path.join(process.env.KVM_FARM_CACHE ?? path.join(os.homedir(), '.cache', 'kvm-farm'), 'src', 'linux-source-6.1');
  const results = mkdtempSync(path.join(os.tmpdir(), 'kvmfarm-bench-remote-'));
  await cleanupStaleFarms();
  const farm = await createFarm({ hosts: HOSTS });
  const run = (over: { shipConcurrency?: number; durationSeconds: number; datestamp: string; again?: string; keepRemote?: boolean }) =>
    remoteRun({
      hosts: HOSTS.map((h) => h.name),
      sshConfigFile: farm.configFile,
      agent: null,
      accel: 'tcg',
      ...(over.shipConcurrency ? { shipConcurrency: over.shipConcurrency } : {}),
      ...(over.keepRemote ? { keepRemote: true } : {}),
      source: over.again
        ? { kind: 'again', options: { runDir: over.again, durationSeconds: over.durationSeconds, newRunDir: path.join(results, over.datestamp) } }
        : { kind: 'build', options: smallRunOptions(kernelDir, results, { configs: CONFIGS, durationSeconds: over.durationSeconds, datestamp: over.datestamp, accel: 'tcg' }) },
    });
  try {
    log('run 1: --ship-concurrency 1, empty kernel stores, 5 s guests');
    const sequential = await run({ shipConcurrency: 1, durationSeconds: 5, datestamp: 'sequential' });
    await emptyStores(farm);
    log(`run 2: default concurrency, empty kernel stores, ${options.durationSeconds ?? 20} s guests (makespan)`);
    // Kept on the hosts: the consoles' file times tell when each guest really started and stopped there.
    const concurrent = await run({ durationSeconds: options.durationSeconds ?? 20, datestamp: 'concurrent', keepRemote: true });
    const onHosts = await hostSideGaps(farm, concurrent);
    log('run 3: rerun of run 2 on the same hosts, 5 s guests');
    const rerun = await run({ durationSeconds: 5, datestamp: 'rerun', again: concurrent.runDir });
    for (const s of [sequential, concurrent, rerun]) {
      const notJudged = s.instances.filter((x) => !x.verdict || x.verdict.kind === 'infra-error');
      if (notJudged.length > 0) throw new Error(`${s.runDir}: ${notJudged.map((x) => x.instance).join(' ')} not run: ${notJudged[0]!.verdict?.reasons.join('; ')}`);
    }
    return {
      ship: {
        sequentialMs: sequential.timings.shipAllMs,
        concurrentMs: concurrent.timings.shipAllMs,
        perHostSequential: perHostShip(sequential),
        perHostConcurrent: perHostShip(concurrent),
        kernelBytes: sum(concurrent.hosts.map((h) => h.blobBytesShipped)),
        rerunKernelBytes: sum(rerun.hosts.map((h) => h.blobBytesShipped)),
        rerunTarBytes: sum(rerun.hosts.map((h) => h.tarBytesShipped)),
      },
      idle: { ...idleGaps(concurrent), hostGapsMs: onHosts, hostMaxMs: Math.max(0, ...onHosts) },
      makespan: makespan(concurrent),
      compression: await compression(concurrent),
    };
  } finally {
    await farm.destroy();
    rmSync(results, { recursive: true, force: true });
  }
}

async function emptyStores(farm: Farm): Promise<void> {
  for (const h of farm.hosts) await farm.inside(h.name, ['rm', '-rf', '/tmp/kvm-farm']);
}

/**
 * On each host, from the last console write of one batch (its guests are powering off)
 * to the first console file of the next being created (qemu is up): the guest-free time
 * the host really saw, exit notification, ssh round trips and qemu start-up included.
 */
async function hostSideGaps(farm: Farm, s: RemoteSummary): Promise<number[]> {
  const gaps: number[] = [];
  for (const h of s.hosts) {
    const out = await farm.inside(h.name, ['find', `/tmp/kvm-farm/runs/${path.basename(s.runDir)}`, '-name', 'console.log', '-exec', 'stat', '-c', '%n %.3W %.3Y', '{}', '+']);
    const times = new Map(out.trim().split('\n').filter((l) => l !== '').map((l) => {
      const [file, born, written] = l.split(' ');
      return [path.basename(path.dirname(file!)), { born: Number(born) * 1000, written: Number(written) * 1000 }] as const;
    }));
    const batches = [...h.batches].sort((a, b) => a.startedMs - b.startedMs);
    for (let i = 1; i < batches.length; i++) {
      const lastWrite = Math.max(...batches[i - 1]!.instances.map((id) => times.get(id)!.written));
      const nextBorn = Math.min(...batches[i]!.instances.map((id) => times.get(id)!.born));
      gaps.push(Math.round(nextBorn - lastWrite));
    }
  }
  return gaps;
}

function perHostShip(s: RemoteSummary): Record<string, number> {
  return Object.fromEntries(s.hosts.map((h) => [h.name, h.shipMs ?? 0]));
}

/** Between a batch's last qemu exiting and the host's next batch starting, per host. */
function idleGaps(s: RemoteSummary): { gapsMs: number[]; maxMs: number } {
  const gaps = s.hosts.flatMap((h) => {
    const batches = [...h.batches].sort((a, b) => a.startedMs - b.startedMs);
    return batches.slice(1).map((b, i) => b.startedMs - batches[i]!.endedMs);
  });
  return { gapsMs: gaps, maxMs: Math.max(0, ...gaps) };
}

/** Ideal: the longer of the longest guest and all guests' CPU-seconds spread over every host CPU. */
export function makespan(s: RemoteSummary) {
  const hostCpus = sum(s.hosts.map((h) => h.cpus ?? 0));
  const longestMs = Math.max(...s.instances.map((x) => x.guest?.durationMs ?? 0));
  const cpuSecondsPerCpuMs = sum(s.instances.map((x) => x.cpus * (x.guest?.durationMs ?? 0))) / hostCpus;
  const idealMs = Math.max(longestMs, cpuSecondsPerCpuMs);
  const starts = s.hosts.flatMap((h) => h.batches.map((b) => b.startedMs));
  const ends = s.hosts.flatMap((h) => h.batches.map((b) => b.endedMs));
  const wallMs = Math.max(...ends) - Math.min(...starts);
  return { wallMs, idealMs, longestMs, cpuSecondsPerCpuMs, overPercent: (wallMs / idealMs - 1) * 100, hostCpus };
}

/** What compressing the shipped kernels would have saved, and what it costs, against the measured link. */
async function compression(s: RemoteSummary) {
  const images = new Map<string, string>();
  for (const x of s.instances) images.set(x.scenario, path.join(s.runDir, x.instance, 'bzImage'));
  let bytes = 0;
  let gzipBytes = 0;
  let zstdBytes = 0;
  let gzipMs = 0;
  let zstdMs = 0;
  for (const file of images.values()) {
    const data = await readFile(file);
    bytes += data.length;
    let t = performance.now();
    gzipBytes += gzipSync(data).length;
    gzipMs += performance.now() - t;
    t = performance.now();
    const z = await execa('zstd', ['-3', '-c'], { input: data, encoding: 'buffer' });
    zstdMs += performance.now() - t;
    zstdBytes += z.stdout.length;
  }
  const shipped = s.hosts.filter((h) => h.shipMs !== undefined);
  const shipMBps = sum(shipped.map((h) => h.tarBytesShipped)) / 1e6 / (s.timings.shipAllMs / 1000);
  return { bytes, gzipRatio: gzipBytes / bytes, gzipMBps: bytes / 1e6 / (gzipMs / 1000), zstdRatio: zstdBytes / bytes, zstdMBps: bytes / 1e6 / (zstdMs / 1000), shipMBps };
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const r = await benchRemote({ kernelDir: process.argv[2], log: (l) => console.log(`  ${l}`) });
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  const hosts = (m: Record<string, number>) => Object.entries(m).map(([h, ms]) => `${h} ${s(ms)}`).join(', ');
  console.log(`remote: hosts ${HOSTS.map((h) => `${h.name}(${h.cpus})`).join(' ')}, ${CONFIGS}, TCG`);
  console.log(`  (a) ship, tarball ready -> all hosts hold their kernels (${(r.ship.kernelBytes / 1e6).toFixed(2)} MB of kernels):`);
  console.log(`      --ship-concurrency 1   ${s(r.ship.sequentialMs)}  (${hosts(r.ship.perHostSequential)})`);
  console.log(`      default (all at once)  ${s(r.ship.concurrentMs)}  (${hosts(r.ship.perHostConcurrent)})`);
  console.log(`      rerun, same kernels    ${r.ship.rerunKernelBytes} kernel bytes (target 0), ${r.ship.rerunTarBytes} tar bytes (a host holding every kernel gets no tar stream at all)`);
  console.log(`  (b) idle between batches  on the host (last console write -> next console created): max ${s(r.idle.hostMaxMs)} [${r.idle.hostGapsMs.map((g) => `${g} ms`).join(', ')}] (target < 1 s)`);
  console.log(`                            at the coordinator (last exit event -> next batch spawned): max ${r.idle.maxMs} ms over ${r.idle.gapsMs.length} hand-offs`);
  console.log(`  (c) run wall time         ${s(r.makespan.wallMs)} against ideal ${s(r.makespan.idealMs)} (longest guest ${s(r.makespan.longestMs)}, CPU-seconds / ${r.makespan.hostCpus} CPUs ${s(r.makespan.cpuSecondsPerCpuMs)}): ${r.makespan.overPercent >= 0 ? '+' : ''}${r.makespan.overPercent.toFixed(1)} % (target within 5 %)`);
  console.log(`  compression of the shipped bzImages (${(r.compression.bytes / 1e6).toFixed(2)} MB): gzip ${(r.compression.gzipRatio * 100).toFixed(1)} % of size at ${r.compression.gzipMBps.toFixed(0)} MB/s, zstd -3 ${(r.compression.zstdRatio * 100).toFixed(1)} % at ${r.compression.zstdMBps.toFixed(0)} MB/s; shipping ran at ${r.compression.shipMBps.toFixed(1)} MB/s end to end: sent uncompressed`);
  console.log(JSON.stringify(r));
}
