/**
 * kvm-remote --slurm on the namespace Slurm cluster (slurmd nodes of 1, 2 and 2 CPUs),
 * real kernels (cached small builds), TCG:
 * (a) the run's wall time against the ideal makespan (target within 5 %, as on ssh);
 * (b) per-step start latency: `srun --overlap` of `true` on one node, one after another
 *     and 16 at once (what each guest, probe and transfer pays for being a job step);
 * (c) placing the kernels: kvm-farm's own tar stream through a step per node (what the
 *     run did) against sbcast of the same files to every node of the allocation.
 * Needs root. `npm run bench -- slurm`, or `node dist/bench/slurm-bench.js [kernel-dir]`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { remoteRun, type RemoteSummary } from '../src/farm/index.js';
import { allocate, cancel, SlurmNodeHost, waitReleased } from '../src/slurm/index.js';
import { cleanupStaleClusters, createCluster, type Cluster } from '../test/slurm/cluster.js';
import { smallRunOptions } from '../test/helpers/run-options.js';
import { makespan } from './remote-bench.js';

const NODES = [{ name: 'b1', cpus: 1 }, { name: 'b2', cpus: 2 }, { name: 'b3', cpus: 2 }];
/** 10 CPU-units on 5 node CPUs, as the ssh bench: two full rounds each. */
const CONFIGS = '4*UP01-SMALL 2*TREE02C-SMALL BUSTED01-SMALL';

export interface SlurmBenchResult {
  makespan: ReturnType<typeof makespan>;
  /** Node losses during the run (each costs a rerun, so the makespan is only fair with none). */
  losses: Record<string, number>;
  steps: { sequentialMs: number[]; concurrentMs: number[] };
  place: { kernelBytes: number; ownShipMs: Record<string, number>; ownShipAllMs: number; sbcastMs: number };
  released: boolean;
}

export async function benchSlurm(kernelDir: string | undefined, durationSeconds = 20, log: (line: string) => void = () => {}): Promise<SlurmBenchResult> {
  const tree = kernelDir ?? path.join(process.env.KVM_FARM_CACHE ?? path.join(os.homedir(), '.cache', 'kvm-farm'), 'src', 'linux-source-6.1');
  const results = mkdtempSync(path.join(os.tmpdir(), 'kvmfarm-bench-slurm-'));
  await cleanupStaleClusters();
  const cluster = await createCluster(NODES);
  try {
    log(`run: ${CONFIGS}, ${durationSeconds} s guests, allocation --nodes=3 --exclusive`);
    const run = await remoteRun({
      hosts: [], slurm: { sallocArgs: ['--nodes=3', '--exclusive'], env: cluster.env }, accel: 'tcg',
      source: { kind: 'build', options: smallRunOptions(tree, results, { configs: CONFIGS, durationSeconds, datestamp: 'bench', accel: 'tcg' }) },
    });
    const notJudged = run.instances.filter((x) => !x.verdict || x.verdict.kind === 'infra-error');
    if (notJudged.length > 0) throw new Error(`${notJudged.map((x) => x.instance).join(' ')} not run: ${notJudged[0]!.verdict?.reasons.join('; ')}`);
    const released = (await cluster.client(['squeue', '-h'])).trim() === '';
    log('steps and sbcast in a fresh allocation');
    const { steps, sbcastMs } = await stepsAndSbcast(cluster, run);
    return {
      makespan: makespan(run), steps, released, losses: Object.fromEntries(run.hosts.map((h) => [h.name, h.losses])),
      place: {
        kernelBytes: Math.max(...run.hosts.map((h) => h.blobBytesShipped)),
        ownShipMs: Object.fromEntries(run.hosts.map((h) => [h.name, h.shipMs ?? 0])), ownShipAllMs: run.timings.shipAllMs, sbcastMs,
      },
    };
  } finally {
    await cluster.destroy();
    if (process.env.KVMFARM_KEEP_RESULTS) log(`kept ${results}`);
    else rmSync(results, { recursive: true, force: true });
  }
}

async function stepsAndSbcast(cluster: Cluster, run: RemoteSummary): Promise<{ steps: SlurmBenchResult['steps']; sbcastMs: number }> {
  const jobId = await allocate({ sallocArgs: ['--nodes=3', '--exclusive'], env: cluster.env }, 60_000);
  try {
    const host = new SlurmNodeHost({ jobId, node: 'b2', cpus: 2, env: cluster.env });
    const sequentialMs: number[] = [];
    for (let i = 0; i < 16; i++) {
      const r = await host.run(['true'], { timeoutMs: 60_000 });
      if (r.exitCode !== 0) throw new Error(`step ${i}: exit ${r.exitCode}: ${r.stderr}`);
      sequentialMs.push(Math.round(r.durationMs));
    }
    const concurrentMs = await Promise.all(Array.from({ length: 16 }, async () => Math.round((await host.run(['true'], { timeoutMs: 60_000 })).durationMs)));
    // The kernels the run shipped, broadcast by Slurm to every node's /tmp.
    const byScenario = new Map(run.instances.map((x) => [x.scenario, path.join(run.runDir, x.instance, 'bzImage')]));
    const started = performance.now();
    for (const [scenario, file] of byScenario) {
      const r = await execa('sbcast', ['--jobid', jobId, '--force', file, `/tmp/sbcast-${scenario}`], { env: cluster.env, cwd: '/', reject: false });
      if (r.exitCode !== 0) throw new Error(`sbcast ${file}: ${r.stderr}`);
    }
    const sbcastMs = performance.now() - started;
    return { steps: { sequentialMs, concurrentMs }, sbcastMs };
  } finally {
    await cancel(jobId, cluster.env);
    await waitReleased(jobId, cluster.env);
  }
}

function stats(ms: number[]): string {
  const s = [...ms].sort((a, b) => a - b);
  return `median ${s[Math.floor(s.length / 2)]} ms, p90 ${s[Math.floor(s.length * 0.9)]} ms, max ${s.at(-1)} ms`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const r = await benchSlurm(process.argv[2], 20, (l) => console.log(`  ${l}`));
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  const m = r.makespan;
  console.log(`slurm: nodes ${NODES.map((n) => `${n.name}(${n.cpus})`).join(' ')}, ${CONFIGS}, TCG`);
  console.log(`  (a) run wall time   ${s(m.wallMs)} against ideal ${s(m.idealMs)} (longest guest ${s(m.longestMs)}, CPU-seconds / ${m.hostCpus} CPUs ${s(m.cpuSecondsPerCpuMs)}): ${m.overPercent >= 0 ? '+' : ''}${m.overPercent.toFixed(1)} % (target within 5 %); allocation released: ${r.released}`);
  console.log(`      node losses: ${Object.entries(r.losses).map(([n, k]) => `${n} ${k}`).join(', ')} (a loss reruns its guests)`);
  console.log(`  (b) step start      one after another: ${stats(r.steps.sequentialMs)}; 16 at once: ${stats(r.steps.concurrentMs)}`);
  console.log(`  (c) kernels placed  own tar stream per node (the run): all nodes in ${s(r.place.ownShipAllMs)} (${Object.entries(r.place.ownShipMs).map(([n, ms]) => `${n} ${s(ms)}`).join(', ')}), ${(r.place.kernelBytes / 1e6).toFixed(2)} MB per node; sbcast of the same kernels to all 3 nodes: ${s(r.place.sbcastMs)}`);
  console.log(JSON.stringify(r));
}
