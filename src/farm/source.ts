import { DEFAULTS } from '../options/defaults.js';
import path from 'node:path';
import { prepareRerun, type PreparedRerun } from '../again/again.js';
import type { InstanceResult, RunSummary } from '../report/types.js';
import { runKvm } from '../run/kvm-run.js';
import { datestamp } from '../rundir/layout.js';
import { KvmFarmError } from '../util/errors.js';
import type { RemoteSource } from './types.js';

export interface RemoteStart {
  /** The directory the kernels come from. */
  sourceRunDir: string;
  prepared: PreparedRerun;
  /** Instances whose kernel did not build: judged already, never shipped. */
  buildFailures: InstanceResult[];
  bootTimeoutSeconds: number;
  /** The scenario directory of a fresh build (the kernel tree's own, bundled or given). */
  scenarios?: RunSummary['scenarios'];
}

/**
 * kvm-remote.sh's two ways in, both ending in a kvm-again dry run: build with
 * --buildonly and rerun that, or rerun an earlier run. The new run directory gets
 * kernels and qemu-cmd files; nothing boots here.
 */
export async function prepareRemoteRun(source: RemoteSource, log: (line: string) => void, signal?: AbortSignal): Promise<RemoteStart> {
  if (source.kind === 'again') {
    const o = source.options;
    const newRunDir = o.newRunDir ?? path.join(o.results ?? DEFAULTS.results, o.datestamp ?? `${datestamp()}-remote`);
    const { datestamp: _named, ...rest } = o;
    const prepared = await prepareRerun({ ...rest, newRunDir, dryrun: true, log, ...(signal ? { signal } : {}) });
    return { sourceRunDir: prepared.source.dir, prepared, buildFailures: [], bootTimeoutSeconds: o.bootTimeoutSeconds ?? DEFAULTS.bootTimeoutSeconds };
  }
  const o = source.options;
  const built = await runKvm({ ...o, buildonly: true, log, ...(signal ? { signal } : {}) });
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
  return { sourceRunDir: built.runDir, prepared, buildFailures, bootTimeoutSeconds: o.bootTimeoutSeconds, ...(built.scenarios ? { scenarios: built.scenarios } : {}) };
}
