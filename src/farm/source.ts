import { DEFAULTS } from '../options/defaults.js';
import path from 'node:path';
import { prepareRerun, type PreparedRerun } from '../again/again.js';
import type { InstanceResult, RunSummary } from '../report/types.js';
import { runKvm } from '../run/kvm-run.js';
import { datestamp } from '../rundir/layout.js';
import { KvmFarmError } from '../util/errors.js';
import type { RemoteSource } from './types.js';
import { BuildFarm, type BuildFarmOptions, type FarmBuildReport } from './build-farm.js';

export interface RemoteStart {
  /** The directory the kernels come from. */
  sourceRunDir: string;
  prepared: PreparedRerun;
  /** Instances whose kernel did not build: judged already, never shipped. */
  buildFailures: InstanceResult[];
  bootTimeoutSeconds: number;
  /** The scenario directory of a fresh build (the kernel tree's own, bundled or given). */
  scenarios?: RunSummary['scenarios'];
  /** What the hosts did for the builds (absent for --build-on here and for reruns). */
  builds?: FarmBuildReport;
}

/** How the build phase reaches the hosts; absent: build here as kvm-run does. */
export type FarmBuildSetup = Omit<BuildFarmOptions, 'kernelDir' | 'kmakeArgs' | 'log' | 'signal'>;

/**
 * The build phase alone, as `kvm-run --buildonly` leaves it: kernels built on the
 * hosts (--build-on hosts, see build-policy.ts) or here, in a run directory here.
 */
export async function buildForRemote(options: Extract<RemoteSource, { kind: 'build' }>['options'], log: (line: string) => void, farmSetup?: FarmBuildSetup, signal?: AbortSignal): Promise<{ built: RunSummary; builds?: FarmBuildReport }> {
  const farm = farmSetup && farmSetup.buildOn !== 'here'
    ? new BuildFarm({ ...farmSetup, kernelDir: options.kernelDir, kmakeArgs: options.kmakeArgs, log: (line) => log(`build farm: ${line}`), ...(signal ? { signal } : {}) })
    : undefined;
  try {
    const built = await runKvm({ ...options, buildonly: true, log, ...(signal ? { signal } : {}), ...(farm ? { kernelCompiler: farm.compiler } : {}) });
    const builds = farm?.report();
    return { built, ...(builds ? { builds } : {}) };
  } finally {
    await farm?.close();
  }
}

/**
 * kvm-remote.sh's two ways in, both ending in a kvm-again dry run: build with
 * --buildonly and rerun that, or rerun an earlier run. The new run directory gets
 * kernels and qemu-cmd files; nothing boots here.
 */
export async function prepareRemoteRun(source: RemoteSource, log: (line: string) => void, signal?: AbortSignal, farmSetup?: FarmBuildSetup): Promise<RemoteStart> {
  if (source.kind === 'again') {
    const o = source.options;
    const newRunDir = o.newRunDir ?? path.join(o.results ?? DEFAULTS.results, o.datestamp ?? `${datestamp()}-remote`);
    const { datestamp: _named, ...rest } = o;
    const prepared = await prepareRerun({ ...rest, newRunDir, dryrun: true, log, ...(signal ? { signal } : {}) });
    return { sourceRunDir: prepared.source.dir, prepared, buildFailures: [], bootTimeoutSeconds: o.bootTimeoutSeconds ?? DEFAULTS.bootTimeoutSeconds };
  }
  const o = source.options;
  const { built, builds } = await buildForRemote(o, log, farmSetup, signal);
  const buildFailures = built.instances.filter((x) => x.verdict?.kind === 'build-failed');
  const ok = built.instances.filter((x) => x.verdict === undefined).map((x) => x.instance);
  if (ok.length === 0) {
    throw new KvmFarmError('KVMFARM_BUILD_SETUP', `no kernel built, nothing to run on the hosts; see ${built.runDir}/*/Make.out`);
  }
  const prepared = await prepareRerun({
    runDir: built.runDir,
    newRunDir: `${built.runDir}-remote`,
    dryrun: true,
    // The binary this invocation was given; a rerun never takes one from the qemu-cmd files.
    ...(o.qemuCmd ? { qemuCmd: o.qemuCmd } : {}),
    ...(buildFailures.length > 0 ? { configs: ok.join(' ') } : {}),
    log,
    ...(signal ? { signal } : {}),
  });
  return { sourceRunDir: built.runDir, prepared, buildFailures, bootTimeoutSeconds: o.bootTimeoutSeconds, ...(built.scenarios ? { scenarios: built.scenarios } : {}), ...(builds ? { builds } : {}) };
}
