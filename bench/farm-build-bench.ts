/**
 * Builds on the farm against builds here (issue 14), on two namespace hosts pinned to
 * one CPU each (CPU 0 and CPU 1) with this process pinned to CPU 0:
 * (a) source bytes sent to a host: the first time, an unchanged tree, a one-file
 *     change (targets: 0 bytes; under 1 MB; deciding under 5 s);
 * (b) 4 distinct tinyconfig kernels, ccache off, each job in a fresh cache so every
 *     configuration and build is cold: the build phase and the whole job (build plus
 *     30 s runs), --build-on here (today's way: every kernel built here, -j1, then
 *     the runs) against --build-on hosts (each host -j1, each kernel's guests started
 *     as soon as it is built). Targets: build phase <= 0.6x, whole job <= 0.7x.
 * The hosts receive the source in (a), so (b)'s farm build phase starts with the tree
 * held; the first shipment's time is reported beside it.
 * Needs root. Run alone: `npm run build && node dist/bench/farm-build-bench.js [kernel-dir] [--only here|hosts]`;
 * `--only` measures the source and one job, for a machine where the whole bench does not fit one sitting.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { resolveKernelTree } from '../src/build/kernel-tree.js';
import { cacheLayout } from '../src/build/store.js';
import { remoteRun, type RemoteSummary } from '../src/farm/index.js';
import { shipSource, sourceRoot, type SourceShipReport } from '../src/farm/ship-source.js';
import { manifestMemoFile, sourceManifest } from '../src/farm/source-manifest.js';
import { connectSshHost, type SshHost } from '../src/transport/index.js';
import { bundledScenarioDir } from '../src/scenarios/library.js';
import { SUITES } from '../src/scenarios/suites.js';
import { cleanupStaleFarms, createFarm, type Farm } from '../test/transport/farm.js';
import { smallRunOptions } from '../test/helpers/run-options.js';

const HOSTS = [{ name: 'fb1', cpus: 1, cpuList: '0' }, { name: 'fb2', cpus: 1, cpuList: '1' }];
/** Four distinct kernels: the three distinct small ones kvm-farm ships, and a 3-CPU one written for the bench. */
const CONFIGS = 'UP01-SMALL TREE02C-SMALL TREE04C-SMALL TREE03C-SMALL';
const EXTRA_SCENARIO = ['# Preemptible Tree RCU on three CPUs, tinyconfig base: a fourth distinct kernel for the bench.', '#BASE#=tinyconfig', 'CONFIG_SMP=y', 'CONFIG_NR_CPUS=3',
  'CONFIG_PREEMPT_NONE=n', 'CONFIG_PREEMPT_VOLUNTARY=n', 'CONFIG_PREEMPT=y', '#CHECK#CONFIG_PREEMPT_RCU=y', ''].join('\n');
const REMOTE_DIR = '/tmp/kvm-farm';
/** The file changed for the one-file case: a source file every kernel compiles. */
const CHANGED_FILE = 'kernel/rcu/update.c';

export interface FarmBuildBenchResult {
  source: {
    firstBytes: number;
    firstMs: number;
    secondBytes: number;
    /** Listing and hashing the tree here (memo by stat) plus asking the host, for the unchanged tree. */
    secondDecideMs: number;
    oneFileBytes: number;
    oneFileDecideMs: number;
  };
  here: { buildMs: number; wholeMs: number };
  hosts: {
    buildMs: number;
    wholeMs: number;
    builtPerHost: Record<string, number>;
    /** Each build on a host, its make time (ms). */
    makeMs: number[];
    /** Builds that came back here (a builder lost): the comparison is then not the farm's. */
    builtHere: string[];
    /** How long guests ran while kernels were still being built: last build's end minus the first guest's start (0 if none overlapped). */
    overlapMs: number;
  };
  /** Each kernel's make time here, one CPU (ms). */
  hereMakeMs: number[];
  buildRatio: number;
  wholeRatio: number;
}

export type FarmBuildJob = 'here' | 'hosts';

export async function benchFarmBuild(options: { kernelDir?: string; only?: FarmBuildJob; log?: (line: string) => void } = {}): Promise<FarmBuildBenchResult | PartialFarmBuildResult> {
  const log = options.log ?? (() => {});
  const kernelDir = options.kernelDir ?? path.join(cacheLayout().root, 'src', 'linux-source-6.1');
  const scratch = mkdtempSync(path.join('/var/tmp', 'kvmfarm-bench-farm-build-'));
  await cleanupStaleFarms();
  // Each host and this process share a CPU with a make: keepalives lenient enough that a busy host never passes for a lost one.
  const farm = await createFarm({ hosts: HOSTS, keepaliveIntervalS: 5, keepaliveCountMax: 12 });
  const hosts: SshHost[] = [];
  try {
    const source = await measureSource(farm, hosts, kernelDir, scratch, log);
    const scenariosDir = path.join(scratch, 'scenarios');
    cpSync(bundledScenarioDir(SUITES.rcu!), scenariosDir, { recursive: true });
    writeFileSync(path.join(scenariosDir, 'TREE03C-SMALL'), EXTRA_SCENARIO);
    const job = async (buildOn: 'here' | 'hosts'): Promise<{ summary: RemoteSummary; buildMs: number; wholeMs: number }> => {
      const cache = freshCache(path.join(scratch, `cache-${buildOn}`));
      const before = process.env.KVM_FARM_CACHE;
      process.env.KVM_FARM_CACHE = cache;
      const started = Date.now();
      try {
        const summary = await remoteRun({
          hosts: HOSTS.map((h) => h.name), sshConfigFile: farm.configFile, agent: null, accel: 'tcg', buildOn, remoteDir: REMOTE_DIR,
          source: { kind: 'build', options: smallRunOptions(kernelDir, path.join(scratch, 'res'), { configs: CONFIGS, scenariosDir, durationSeconds: 30, datestamp: `job-${buildOn}`, ccache: 'off' }) },
        });
        const wholeMs = Date.now() - started;
        const built = JSON.parse(readFileSync(path.join(summary.sourceRunDir, 'summary.json'), 'utf8')) as { startedAt: string; endedAt: string };
        const notRun = summary.instances.filter((x) => !x.verdict || x.verdict.kind === 'infra-error' || x.verdict.kind === 'build-failed');
        if (notRun.length > 0) throw new Error(`--build-on ${buildOn}: ${notRun.map((x) => `${x.instance} ${x.verdict?.kind}`).join(', ')}`);
        return { summary, wholeMs, buildMs: Date.parse(built.endedAt) - Date.parse(built.startedAt) };
      } finally {
        if (before === undefined) delete process.env.KVM_FARM_CACHE;
        else process.env.KVM_FARM_CACHE = before;
      }
    };
    if (options.only === 'hosts') {
      log('job 2 only: --build-on hosts (each host builds with -j1, then 30 s runs)');
      const onHosts = await job('hosts');
      log(`  build ${(onHosts.buildMs / 1000).toFixed(1)} s, whole ${(onHosts.wholeMs / 1000).toFixed(1)} s`);
      return { source, only: 'hosts', hosts: hostsFigures(onHosts.summary, onHosts.buildMs, onHosts.wholeMs) };
    }
    log('job 1: --build-on here (built here on one CPU, then 30 s runs on the hosts)');
    const here = await job('here');
    log(`  build ${(here.buildMs / 1000).toFixed(1)} s, whole ${(here.wholeMs / 1000).toFixed(1)} s`);
    if (options.only === 'here') return { source, only: 'here', here: { buildMs: here.buildMs, wholeMs: here.wholeMs } };
    log('job 2: --build-on hosts (each host builds with -j1, then 30 s runs)');
    const onHosts = await job('hosts');
    log(`  build ${(onHosts.buildMs / 1000).toFixed(1)} s, whole ${(onHosts.wholeMs / 1000).toFixed(1)} s`);
    const buildPhase = JSON.parse(readFileSync(path.join(here.summary.sourceRunDir, 'summary.json'), 'utf8')) as { instances: { kernel: { buildMs?: number; source: string } }[] };
    return {
      source,
      here: { buildMs: here.buildMs, wholeMs: here.wholeMs },
      hereMakeMs: buildPhase.instances.filter((x) => x.kernel.source === 'built').map((x) => x.kernel.buildMs ?? 0),
      hosts: hostsFigures(onHosts.summary, onHosts.buildMs, onHosts.wholeMs),
      buildRatio: onHosts.buildMs / here.buildMs,
      wholeRatio: onHosts.wholeMs / here.wholeMs,
    };
  } finally {
    await Promise.all(hosts.map((h) => h.close().catch(() => {})));
    await farm.destroy();
    rmSync(scratch, { recursive: true, force: true });
  }
}

export interface PartialFarmBuildResult {
  source: FarmBuildBenchResult['source'];
  only: FarmBuildJob;
  here?: FarmBuildBenchResult['here'];
  hosts?: FarmBuildBenchResult['hosts'];
}

function hostsFigures(summary: RemoteSummary, buildMs: number, wholeMs: number): FarmBuildBenchResult['hosts'] {
  const builtPerHost = Object.fromEntries((summary.builds?.hosts ?? []).map((h) => [h.name, h.builds.length]));
  const hostBuilds = (summary.builds?.hosts ?? []).flatMap((h) => h.builds);
  const firstGuest = Math.min(...summary.instances.map((x) => Date.parse(x.guest?.startedAt ?? '') || Infinity));
  const lastBuild = Math.max(...hostBuilds.map((b) => Date.parse(b.endedAt)));
  return { buildMs, wholeMs, builtPerHost, makeMs: hostBuilds.map((b) => b.ms), builtHere: summary.builds?.builtHere ?? [], overlapMs: Math.max(0, lastBuild - firstGuest) };
}

/** The source shipments of (a), straight through shipSource on the hosts' ssh connections. */
async function measureSource(farm: Farm, hosts: SshHost[], kernelDir: string, scratch: string, log: (line: string) => void): Promise<FarmBuildBenchResult['source']> {
  const stateDir = path.join(cacheLayout().root, 'build', 'source-state');
  const tree = resolveKernelTree(kernelDir);
  for (const h of HOSTS) hosts.push(await connectSshHost(h.name, { configFile: farm.configFile, agent: null }));
  const paths = sourceRoot(REMOTE_DIR);
  const ship = async (treeDir: string, host: SshHost): Promise<SourceShipReport & { manifestMs: number }> => {
    const manifest = await sourceManifest({ dir: treeDir, git: false }, stateDir);
    const r = await shipSource(host, paths, manifest, { stateDir, treeDir, timeoutMs: 60 * 60_000 });
    return { ...r, manifestMs: manifest.durationMs };
  };
  log('source: first shipment to both hosts at once');
  const t0 = Date.now();
  const first = await Promise.all(hosts.map((h) => ship(tree.dir, h)));
  const firstMs = Date.now() - t0;
  log(`  ${first.map((r) => r.bytes).join(' + ')} bytes in ${(firstMs / 1000).toFixed(1)} s`);
  const second = await ship(tree.dir, hosts[0]!);
  log(`source: unchanged tree: ${second.bytes} bytes, decided in ${((second.manifestMs + second.decideMs) / 1000).toFixed(2)} s`);
  // A hard-link copy of the tree with one file replaced (not written through: the links share the original).
  const copy = path.join(scratch, 'tree');
  await execa('cp', ['-al', '--', tree.dir, copy]);
  const file = path.join(copy, CHANGED_FILE);
  const text = readFileSync(file, 'utf8');
  unlinkSync(file);
  writeFileSync(file, `${text}/* changed for the farm-build bench */\n`);
  // The copy's files share the original's inodes and times: its per-file hashes carry over.
  const memo = manifestMemoFile(stateDir, tree.dir);
  if (existsSync(memo)) cpSync(memo, manifestMemoFile(stateDir, copy));
  const oneFile = await ship(copy, hosts[0]!);
  log(`source: one-file change: ${oneFile.bytes} bytes (${oneFile.objects} new file), decided in ${((oneFile.manifestMs + oneFile.decideMs) / 1000).toFixed(2)} s`);
  rmSync(manifestMemoFile(stateDir, copy), { force: true });
  return {
    firstBytes: first[0]!.bytes, firstMs, secondBytes: second.bytes, secondDecideMs: second.manifestMs + second.decideMs,
    oneFileBytes: oneFile.bytes, oneFileDecideMs: oneFile.manifestMs + oneFile.decideMs,
  };
}

/** A cache with nothing built or configured, but the tree's identity and file-hash memos carried over (keyed by stat). */
function freshCache(dir: string): string {
  const shared = cacheLayout(undefined, { ...process.env, KVM_FARM_CACHE: undefined }).root;
  for (const memo of ['tree-ids', 'source-state']) {
    const from = path.join(shared, 'build', memo);
    if (existsSync(from)) cpSync(from, path.join(dir, 'build', memo), { recursive: true });
  }
  return dir;
}

const self = fileURLToPath(import.meta.url);
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  // The coordinator gets one CPU, as each host does: re-run pinned to CPU 0.
  if (os.availableParallelism() > 1 && !process.env.KVMFARM_BENCH_PINNED) {
    const child = await execa('taskset', ['-c', '0', process.execPath, self, ...process.argv.slice(2)], { stdio: 'inherit', reject: false, env: { KVMFARM_BENCH_PINNED: '1' } });
    process.exit(child.exitCode ?? 1);
  }
  const args = process.argv.slice(2);
  const onlyAt = args.indexOf('--only');
  const only = onlyAt >= 0 ? args.splice(onlyAt, 2)[1] : undefined;
  if (only !== undefined && only !== 'here' && only !== 'hosts') {
    console.error(`--only ${JSON.stringify(only)}: expected here or hosts`);
    process.exit(2);
  }
  const outcome = await benchFarmBuild({ ...(args[0] ? { kernelDir: args[0] } : {}), ...(only ? { only } : {}), log: (line) => console.log(line) });
  const s = outcome.source;
  const mb = (n: number) => `${(n / 1e6).toFixed(2)} MB`;
  console.log(`source shipped: first ${mb(s.firstBytes)} per host (both hosts in ${(s.firstMs / 1000).toFixed(1)} s); unchanged tree ${s.secondBytes} bytes (target 0), decided in ${(s.secondDecideMs / 1000).toFixed(2)} s (target < 5 s); one-file change ${mb(s.oneFileBytes)} (target < 1 MB), decided in ${(s.oneFileDecideMs / 1000).toFixed(2)} s`);
  if ('only' in outcome) {
    const h = outcome.hosts;
    if (h) console.log(`on 2 hosts: build phase ${(h.buildMs / 1000).toFixed(1)} s, whole job ${(h.wholeMs / 1000).toFixed(1)} s; built per host ${JSON.stringify(h.builtPerHost)}; per kernel (make and fetch, s): ${h.makeMs.map((x) => (x / 1000).toFixed(0)).join(', ')}; guests ran while kernels were still building for ${(h.overlapMs / 1000).toFixed(1)} s${h.builtHere.length > 0 ? `; built here after all: ${h.builtHere.join(' ')}` : ''}`);
    if (outcome.here) console.log(`here: build phase ${(outcome.here.buildMs / 1000).toFixed(1)} s, whole job ${(outcome.here.wholeMs / 1000).toFixed(1)} s`);
    console.log('one job only: no ratio (run without --only to compare both in one run)');
    process.exit(0);
  }
  const result = outcome;
  console.log(`build phase, 4 distinct kernels: here ${(result.here.buildMs / 1000).toFixed(1)} s, on 2 hosts ${(result.hosts.buildMs / 1000).toFixed(1)} s: ${result.buildRatio.toFixed(2)}x (target <= 0.6x); built per host ${JSON.stringify(result.hosts.builtPerHost)}`);
  const secs = (xs: number[]) => xs.map((x) => (x / 1000).toFixed(0)).join(', ');
  console.log(`per kernel (configure + make, s): here ${secs(result.hereMakeMs)}; on the hosts (make and fetch, s): ${secs(result.hosts.makeMs)}`);
  if (result.hosts.builtHere.length > 0) console.log(`built here after all (a builder was lost): ${result.hosts.builtHere.join(' ')}`);
  console.log(`guests ran while kernels were still building for ${(result.hosts.overlapMs / 1000).toFixed(1)} s`);
  console.log(`whole job (build + 30 s runs): here ${(result.here.wholeMs / 1000).toFixed(1)} s, on hosts ${(result.hosts.wholeMs / 1000).toFixed(1)} s: ${result.wholeRatio.toFixed(2)}x (target <= 0.7x)`);
  const ok = s.secondBytes === 0 && s.oneFileBytes < 1_000_000 && s.secondDecideMs < 5000 && result.buildRatio <= 0.6 && result.wholeRatio <= 0.7;
  console.log(ok ? 'all targets met' : 'TARGETS MISSED (see above)');
}
