/**
 * kvm-farm's library: the one front door. The four commands are thin parsers over
 * these calls; a script gets the same checks, defaults and typed results.
 *
 *   import { run, again, recheck, remote } from 'kvm-farm';
 *   const plan = await run({ configs: 'TREE01 2*TINY01', dryrun: 'batches' });
 *   const summary = await run({ configs: 'TINY01', durationSeconds: 30, kernelDir: '/src/linux' });
 *   for (const i of summary.instances) console.log(i.instance, i.verdict?.kind);
 *
 * Every input is partial: what is missing comes from DEFAULTS, and every value is
 * checked once here (KvmFarmError with code KVMFARM_BAD_ARGUMENT and a one-line message).
 */
import { againRun } from './again/again.js';
import { resolveAgainOptions, type AgainInput } from './options/resolve-again.js';
import { resolveRemoteSettings } from './options/resolve-remote.js';
import { resolveRunOptions, type RunInput } from './options/resolve-run.js';
import { remoteRun } from './farm/remote-run.js';
import { resumeRemote, type ResumeOptions } from './farm/resume-run.js';
import type { RemoteOptions, RemoteSummary } from './farm/types.js';
import type { RunSummary } from './report/types.js';
import type { RunProgressListener } from './progress/run-monitor.js';
import { planOnly, type RunPlan } from './run/dryrun.js';
import { runKvm } from './run/kvm-run.js';
import { recheckRun } from './run/recheck.js';
import { KvmFarmError } from './util/errors.js';

export { DEFAULTS, ACCEL_REQUESTS, CCACHE_MODES, DRYRUN_MODES, type AccelRequest, type CcacheMode, type DryrunMode } from './options/defaults.js';
export { LIMITS, MAX_TIMER_MS } from './options/limits.js';
export { LINK_MODES, type LinkMode } from './again/link.js';
export { KvmFarmError, isKvmFarmError, type KvmFarmErrorCode } from './util/errors.js';
export { parseDuration, formatDuration } from './util/duration.js';
export { formatSummary } from './report/text.js';
export { localCpus } from './run/prepare.js';
export { formatProgress, type RemoteProgress } from './farm/progress.js';
export type { RunProgressListener } from './progress/run-monitor.js';
export type { RunInput } from './options/resolve-run.js';
export type { AgainInput } from './options/resolve-again.js';
export type { RunPlan, PlannedBatch } from './run/dryrun.js';
export type { RunOptions } from './run/options.js';
export type { AgainOptions } from './again/again.js';
export type { RemoteOptions, RemoteSummary, HostReport, RemoteBatchReport } from './farm/types.js';
export type { ResumeOptions } from './farm/resume-run.js';
export type { RunSummary, InstanceResult, KernelSource } from './report/types.js';
export type { Verdict, VerdictKind } from './analyze/types.js';
export type { Accel } from './qemu/types.js';

/** Stops a run: every guest is stopped, the run directory records what finished. */
export interface Interruptible {
  signal?: AbortSignal;
  /** Progress lines for a person (the CLIs print them). */
  log?: (line: string) => void;
  /** Told of build steps and guests as they go, for a live display. */
  progress?: RunProgressListener;
}

/**
 * kvm-run: builds one kernel per scenario, boots each instance for the duration,
 * judges every console. With `dryrun`, plans only and returns the plan.
 */
export async function run(input: RunInput & Interruptible & { dryrun: NonNullable<RunInput['dryrun']> }): Promise<RunPlan>;
export async function run(input?: RunInput & Interruptible): Promise<RunSummary>;
export async function run(input: RunInput & Interruptible = {}): Promise<RunSummary | RunPlan> {
  const { dryrun, ...options } = resolveRunOptions(input);
  if (dryrun) return planOnly(options, dryrun);
  return runKvm({ ...options, ...interruptible(input) });
}

/** kvm-again: boots an earlier run's kernels again (all, `configs`, or `failed`) into a new run directory. */
export async function again(input: AgainInput & Interruptible): Promise<RunSummary> {
  return againRun({ ...resolveAgainOptions(input), ...interruptible(input) });
}

/** kvm-recheck: judges finished runs again from their console logs; one summary per run. */
export async function recheck(runDirs: string | readonly string[]): Promise<RunSummary[]> {
  const summaries: RunSummary[] = [];
  for (const dir of typeof runDirs === 'string' ? [runDirs] : runDirs) summaries.push(await recheckRun(dir));
  return summaries;
}

/** Where kvm-remote's kernels come from: a fresh build, or an earlier run. */
export type RemoteSourceInput = { kind: 'build'; options: Omit<RunInput, 'buildonly' | 'dryrun'> } | { kind: 'again'; options: Omit<AgainInput, 'dryrun'> };

/** What a caller gives `remote()`: hosts, where the kernels come from, and any farm setting. */
export type RemoteInput = Omit<RemoteOptions, 'source' | 'log' | 'signal'> & Interruptible & { source: RemoteSourceInput };

/**
 * kvm-remote: builds here (or takes an earlier run's kernels), runs the batches on
 * the hosts, judges here. The summary has one result per instance and one report per host.
 */
export async function remote(input: RemoteInput): Promise<RemoteSummary> {
  const { source, ...rest } = input;
  resolveRemoteSettings(rest);
  if (source.kind === 'build' && (source.options as RunInput).buildonly) {
    throw new KvmFarmError('KVMFARM_BAD_ARGUMENT', 'buildonly: kvm-remote builds and then runs on the hosts; use run({ buildonly: true }) to only build');
  }
  const resolvedSource: RemoteOptions['source'] =
    source.kind === 'build'
      ? { kind: 'build', options: withoutRunOnly(resolveRunOptions(source.options)) }
      : { kind: 'again', options: withoutDryrun(resolveAgainOptions(source.options)) };
  return remoteRun({ ...rest, source: resolvedSource, ...interruptible(input) });
}

/**
 * kvm-remote --resume: picks up a run whose coordinator died (its journal says where
 * every guest is), follows the guests still running, reruns only what never ran or
 * was lost, and finishes the run directory.
 */
export async function resume(input: ResumeOptions): Promise<RemoteSummary> {
  return resumeRemote(input);
}

function withoutRunOnly<T extends { buildonly: boolean; dryrun?: unknown; log?: unknown }>(options: T): Omit<T, 'buildonly' | 'dryrun' | 'log'> {
  const { buildonly: _b, dryrun: _d, log: _l, ...rest } = options;
  return rest;
}

function withoutDryrun<T extends { dryrun?: boolean; log?: unknown; signal?: unknown }>(options: T): Omit<T, 'dryrun' | 'log' | 'signal'> {
  const { dryrun: _d, log: _l, signal: _s, ...rest } = options;
  return rest;
}

/** Copies only the callbacks a caller gave, so an absent one never replaces a default. */
function interruptible(input: Interruptible): Interruptible {
  const picked: Interruptible = {};
  if (input.signal) picked.signal = input.signal;
  if (input.log) picked.log = input.log;
  if (input.progress) picked.progress = input.progress;
  return picked;
}
