/**
 * Cold build versus cached rebuild of one small scenario (UP01-SMALL: tinyconfig plus the
 * rcu CFcommon), in an empty temporary cache with ccache off, so the cold number is a
 * real compile. Run alone: `npm run build && node dist/bench/build-bench.js [kernel-dir]`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildKernels } from '../src/build/build-kernels.js';
import { createBuildReporter } from '../src/build/reporter.js';
import type { BuildReporter } from '../src/build/types.js';
import { bundledScenarioDir, loadScenarioLibrary } from '../src/scenarios/library.js';
import { SUITES } from '../src/scenarios/suites.js';

export interface BuildBenchOptions {
  /** Kernel tree; default the one scripts/setup-kernel-tree.sh unpacks. */
  kernelDir?: string;
  /** Scenario of the bundled rcu library to build. Default `UP01-SMALL`. */
  scenario?: string;
  /** make -j; default the number of CPUs. */
  jobs?: number;
  reporter?: BuildReporter;
}

export interface BuildBenchResult {
  scenario: string;
  coldMs: number;
  /** make's share of the cold build. */
  coldMakeMs: number;
  cachedMs: number;
  /** cachedMs / coldMs. */
  ratio: number;
  kernelVersion: string | undefined;
}

export async function benchBuild(options: BuildBenchOptions = {}): Promise<BuildBenchResult> {
  const suite = SUITES.rcu!;
  const kernelDir =
    options.kernelDir ??
    path.join(process.env.KVM_FARM_CACHE ?? path.join(os.homedir(), '.cache', 'kvm-farm'), 'src', 'linux-source-6.1');
  const library = loadScenarioLibrary(bundledScenarioDir(suite));
  const name = options.scenario ?? 'UP01-SMALL';
  const scenario = library.load(name);
  const cacheDir = mkdtempSync(path.join(os.tmpdir(), 'kvmfarm-bench-cache-'));
  const runDir = mkdtempSync(path.join(os.tmpdir(), 'kvmfarm-bench-run-'));
  try {
    const build = async (run: string) => {
      const started = Date.now();
      const [result] = await buildKernels({
        kernelDir,
        instances: [{ id: name, scenario, outDir: path.join(runDir, run, name) }],
        cfcommon: library.cfcommon,
        suite,
        jobs: options.jobs ?? os.cpus().length,
        ccache: 'off',
        cacheDir,
        ...(options.reporter ? { reporter: options.reporter } : {}),
      });
      if (!result || result.status === 'build-failed') {
        throw new Error(`bench build of ${name} failed: ${result?.failure?.reason}\n${result?.failure?.quoted.join('\n')}`);
      }
      return { result, ms: Date.now() - started };
    };
    const cold = await build('cold');
    const cached = await build('cached');
    if (cached.result.status !== 'cached') throw new Error(`the rebuild was ${cached.result.status}, not cached`);
    return {
      scenario: name,
      coldMs: cold.ms,
      coldMakeMs: cold.result.makeMs,
      cachedMs: cached.ms,
      ratio: cached.ms / cold.ms,
      kernelVersion: cold.result.kernelVersion,
    };
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
    rmSync(runDir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await benchBuild({ kernelDir: process.argv[2], reporter: createBuildReporter() });
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  console.log(`build ${result.scenario} (${result.kernelVersion}), ccache off:`);
  console.log(`  cold build      ${s(result.coldMs)} (make ${s(result.coldMakeMs)})`);
  console.log(`  cached rebuild  ${s(result.cachedMs)}`);
  console.log(`  ratio           ${(result.ratio * 100).toFixed(2)} % (target < 5 %)`);
}
