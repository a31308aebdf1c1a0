/**
 * The real workload: the kernel tree's own TINY01, unchanged (defconfig base), built,
 * booted and judged as a kernel developer would run it, and the kernel's own
 * kvm-recheck.sh asked about the same run directory. Figures: the cold build (timed
 * when the cache entry was made, or here with KVM_FARM_BENCH_COLD=1 in a scratch
 * cache, 25+ minutes on 2 cores), the cached rebuild, boot to the first rcutorture
 * statistics line, the verdict, and whether kvm-recheck.sh agrees.
 *
 * Not in CI: a cold defconfig build alone is over 25 minutes on 2 cores, and CI's
 * cold run on a new machine must stay under an hour with ~40 minutes already used.
 * Run alone: `npm run build && node dist/bench/real-bench.js [kernel-dir]`.
 */
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { buildKernels } from '../src/build/build-kernels.js';
import { createBuildReporter } from '../src/build/reporter.js';
import { cacheLayout, readEntry } from '../src/build/store.js';
import { resolveRunOptions } from '../src/options/resolve-run.js';
import { prepareRun } from '../src/run/prepare.js';
import { runKvm } from '../src/run/kvm-run.js';
import { sleep } from '../src/qemu/child.js';

export interface RealBenchOptions {
  kernelDir: string;
  scenario?: string;
  /** Test time of the boot; long enough for several statistics lines (rcutorture prints one every 15 s). */
  durationSeconds?: number;
  /** Build cold in a scratch cache instead of reading the cold time off the cache entry. */
  coldHere?: boolean;
  log?: (line: string) => void;
}

export interface RealBenchResult {
  scenario: string;
  kernelVersion?: string;
  /** make time of the cold build, and where that figure comes from. */
  coldMakeMs?: number;
  coldSource: string;
  cachedRebuildMs: number;
  cachedStatus: string;
  /** From qemu's start to the first statistics line appearing in console.log. */
  bootToFirstStatsMs?: number;
  /** The kernel's own printk time stamp on that line. */
  firstStatsKernelSeconds?: number;
  accel?: string;
  verdict: string;
  reasons: string[];
  gracePeriods?: number;
  kernelRecheck: { exitCode: number | undefined; diags: string; summaryLine: string };
  recheckAgrees: boolean;
  runDir: string;
}

/** rcutorture's periodic statistics line: `rcu-torture: rtc: ... ver: N ...`. */
const STATS_LINE = /-torture: rtc: /;

export async function benchReal(options: RealBenchOptions): Promise<RealBenchResult> {
  const log = options.log ?? (() => {});
  const scenario = options.scenario ?? 'TINY01';
  const scenariosDir = path.join(options.kernelDir, 'tools/testing/selftests/rcutorture/configs/rcu');
  const results = mkdtempSync(path.join(os.tmpdir(), 'kvmfarm-real-bench-'));
  const scratchCache = options.coldHere ? mkdtempSync(path.join(os.tmpdir(), 'kvmfarm-real-cache-')) : undefined;
  try {
    // The same options kvm-run would resolve for `--scenarios <tree>/... --configs TINY01`.
    const runOptions = resolveRunOptions({ kernelDir: options.kernelDir, scenariosDir, configs: scenario, results, durationSeconds: options.durationSeconds ?? 90 });
    const prepared = prepareRun(runOptions);
    const instance = prepared.instances[0]!;
    const build = async (run: string) => {
      const started = Date.now();
      const [result] = await buildKernels({
        kernelDir: options.kernelDir,
        instances: [{ id: instance.id, scenario: instance.scenario, outDir: path.join(results, 'builds', run) }],
        cfcommon: prepared.library.cfcommon,
        suite: prepared.suite,
        defconfig: runOptions.defconfig,
        kconfig: runOptions.kconfig,
        jobs: prepared.cpus,
        ccache: runOptions.ccache,
        ...(scratchCache ? { cacheDir: scratchCache } : {}),
        reporter: createBuildReporter(),
      });
      if (!result || result.status === 'build-failed') throw new Error(`${scenario} did not build: ${result?.failure?.reason}\n${result?.failure?.quoted.join('\n')}`);
      return { result, ms: Date.now() - started };
    };

    let coldMakeMs: number | undefined;
    let coldSource: string;
    const first = await build('first');
    let cached = first;
    if (first.result.status === 'built') {
      coldMakeMs = first.result.makeMs;
      coldSource = scratchCache ? 'built here in a scratch cache' : 'built here (the cache did not have it)';
      cached = await build('second');
    } else {
      const meta = await readEntry(cacheLayout(scratchCache), first.result.cacheKey);
      coldMakeMs = meta?.makeMs;
      coldSource = `recorded in the cache entry, built ${meta?.builtAt ?? '(unknown)'}`;
    }
    log(`cached rebuild: ${cached.result.status} in ${cached.ms} ms`);

    let guestStartedAt = 0;
    let consoleLog = '';
    let firstStatsAt: number | undefined;
    let watching = true;
    const watcher = (async () => {
      while (watching && firstStatsAt === undefined) {
        if (consoleLog && existsSync(consoleLog) && STATS_LINE.test(readFileSync(consoleLog, 'utf8'))) firstStatsAt = Date.now();
        await sleep(250);
      }
    })();
    const summary = await runKvm({
      ...runOptions,
      datestamp: 'boot',
      log,
      progress: {
        guestStarted: (g) => {
          guestStartedAt = Date.now();
          consoleLog = g.consoleLog;
        },
      },
    });
    watching = false;
    await watcher;
    const result = summary.instances[0]!;
    const consoleText = readFileSync(path.join(summary.runDir, instance.id, 'console.log'), 'utf8');
    const statsLine = consoleText.split('\n').find((l) => STATS_LINE.test(l));
    const stamp = statsLine ? /^\[\s*(\d+\.\d+)\]/.exec(statsLine) : null;

    const recheck = await kernelRecheck(options.kernelDir, summary.runDir, instance.id);
    const kernelPass = recheck.exitCode === 0 && recheck.diags.trim() === '';
    const ours = result.verdict?.kind ?? 'none';
    return {
      scenario,
      ...(first.result.kernelVersion ? { kernelVersion: first.result.kernelVersion } : {}),
      ...(coldMakeMs !== undefined ? { coldMakeMs } : {}),
      coldSource,
      cachedRebuildMs: cached.ms,
      cachedStatus: cached.result.status,
      ...(firstStatsAt !== undefined ? { bootToFirstStatsMs: firstStatsAt - guestStartedAt } : {}),
      ...(stamp ? { firstStatsKernelSeconds: Number(stamp[1]) } : {}),
      ...(summary.accel ? { accel: summary.accel } : {}),
      verdict: ours,
      reasons: result.verdict?.reasons ?? [],
      ...(result.verdict?.gracePeriods !== undefined ? { gracePeriods: result.verdict.gracePeriods } : {}),
      kernelRecheck: recheck,
      recheckAgrees: kernelPass === (ours === 'pass'),
      runDir: summary.runDir,
    };
  } finally {
    if (scratchCache) rmSync(scratchCache, { recursive: true, force: true });
    if (!process.env.KVM_FARM_BENCH_KEEP) rmSync(results, { recursive: true, force: true });
  }
}

/**
 * The kernel's own kvm-recheck.sh on a copy of the run directory (it rewrites
 * console.log.diags, so ours stay as written): its exit status, what it wrote into
 * the instance's console.log.diags, and its summary line for the instance.
 */
async function kernelRecheck(kernelDir: string, runDir: string, id: string): Promise<RealBenchResult['kernelRecheck']> {
  const copy = `${runDir}-for-kernel-recheck`;
  cpSync(runDir, copy, { recursive: true });
  for (const entry of readdirSync(copy)) {
    if (statSync(path.join(copy, entry)).isDirectory()) rmSync(path.join(copy, entry, 'console.log.diags'), { force: true });
  }
  const run = await execa('bash', ['tools/testing/selftests/rcutorture/bin/kvm-recheck.sh', copy], { cwd: kernelDir, reject: false, timeout: 10 * 60_000, all: true });
  const diagsFile = path.join(copy, id, 'console.log.diags');
  return {
    exitCode: run.exitCode,
    diags: existsSync(diagsFile) ? readFileSync(diagsFile, 'utf8') : '',
    summaryLine: (run.all ?? '').split('\n').find((l) => l.startsWith(`${id} `)) ?? (run.all ?? '').split('\n').slice(0, 3).join(' | '),
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const kernelDir = process.argv[2] ?? path.join(cacheLayout().root, 'src', 'linux-source-6.1');
  const r = await benchReal({ kernelDir, coldHere: process.env.KVM_FARM_BENCH_COLD === '1', log: (l) => console.log(`  | ${l}`) });
  const s = (ms: number | undefined) => (ms === undefined ? 'n/a' : `${(ms / 1000).toFixed(1)} s`);
  console.log(`real ${r.scenario} from ${kernelDir} (${r.kernelVersion ?? '?'}), the tree's own scenario, unchanged:`);
  console.log(`  cold build (make)        ${s(r.coldMakeMs)} = ${((r.coldMakeMs ?? 0) / 60_000).toFixed(1)} min (${r.coldSource})`);
  console.log(`  cached rebuild           ${s(r.cachedRebuildMs)} (${r.cachedStatus})`);
  console.log(`  boot to first stats      ${s(r.bootToFirstStatsMs)} wall from qemu start (kernel time stamp ${r.firstStatsKernelSeconds ?? 'n/a'} s), accel ${r.accel ?? '?'}`);
  console.log(`  verdict                  ${r.verdict}${r.reasons.length ? ` (${r.reasons.join('; ')})` : ''}, ${r.gracePeriods ?? '?'} grace periods`);
  console.log(`  kvm-recheck.sh           exit ${r.kernelRecheck.exitCode}, ${r.kernelRecheck.diags.trim() === '' ? 'no diagnostics' : `diagnostics: ${r.kernelRecheck.diags.trim()}`}; "${r.kernelRecheck.summaryLine}"`);
  console.log(`  kvm-recheck.sh agrees    ${r.recheckAgrees ? 'yes' : 'NO'}`);
  if (!r.recheckAgrees || r.verdict !== 'pass') process.exitCode = 1;
}
