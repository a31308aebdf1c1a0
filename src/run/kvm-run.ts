import { mkdirSync } from 'node:fs';
import { checkMakeTarget } from '../build/configure.js';
import path from 'node:path';
import { buildKernels, type KernelBuildResult } from '../build/index.js';
import type { KernelCompiler } from '../build/types.js';
import { resolveKernelTree } from '../build/kernel-tree.js';
import { allBatches } from '../plan/plan.js';
import { probeAccel, type BuiltQemuCommand } from '../qemu/index.js';
import type { InstanceResult, RunSummary } from '../report/types.js';
import { createRunDir } from '../rundir/create.js';
import { appendRunLog, describeKernelTree, formatBatchesFile, formatScenariosFile, writeRunFile } from '../rundir/files.js';
import { RUN_FILES } from '../rundir/layout.js';
import { finishRun, recordAccel } from './finish.js';
import { buildFailedVerdict } from '../analyze/judge.js';
import type { RunOptions } from './options.js';
import { prepareRun, type PreparedRun } from './prepare.js';
import { acquireRunLock, type RunLock } from '../rundir/run-lock.js';
import { DEFAULTS } from '../options/defaults.js';
import { hostLoadFor } from '../host-load/host-load.js';
import { describeScenarioDir } from '../scenarios/scenario-dir.js';
import { gdbAttachLine } from './gdb.js';
import type { RunProgressListener } from '../progress/run-monitor.js';
import type { Batch } from '../plan/types.js';
import { writeQemuCmd } from './qemu-cmd.js';

export interface RunKvmOptions extends RunOptions {
  /** Aborting stops every guest and marks the run interrupted. */
  signal?: AbortSignal;
  /** Told of build steps and guests as they go, for a live display. */
  progress?: RunProgressListener;
  /** Compiles configured kernels elsewhere (kvm-remote's build hosts); default here. */
  kernelCompiler?: KernelCompiler;
  /** Told of the run's instances once its directory exists, then of each kernel as it is ready (kvm-remote starts guests before every kernel is built). */
  kernels?: KernelListener;
}

/** What kvm-remote hears of a build as it goes. */
export interface KernelListener {
  /** The run directory and its batches (every instance), before any kernel is built. */
  planned(runDir: string, batches: readonly Batch[], suite: string): void;
  /** Instances whose kernel and qemu-cmd are in place, or whose build failed. */
  built(results: readonly KernelBuildResult[]): void;
}

/**
 * kvm-run as a library call: plan, build, boot, judge, report. Returns one result
 * per scenario instance; the run directory holds the same in summary.json.
 */
export async function runKvm(options: RunKvmOptions): Promise<RunSummary> {
  const log = options.log ?? (() => {});
  const startedAt = new Date();
  const prepared = prepareRun(options);
  checkMakeTarget(options.defconfig, '--defconfig');
  const tree = resolveKernelTree(options.kernelDir);
  const lock = await acquireRunLock({ kernelTree: tree.dir, results: options.results ?? DEFAULTS.results, killPrevious: options.killPrevious, log });
  try {
    return await buildAndBoot(options, prepared, tree.dir, lock, startedAt);
  } finally {
    lock.release();
  }
}

async function buildAndBoot(options: RunKvmOptions, prepared: PreparedRun, treeDir: string, lock: RunLock, startedAt: Date): Promise<RunSummary> {
  const log = options.log ?? (() => {});
  const runDir = createRunDir({
    results: options.results,
    name: options.datestamp,
  });
  lock.recordRunDir(runDir);
  const say = (line: string) => {
    log(line);
    appendRunLog(runDir, line);
  };
  say(`Results directory: ${runDir}`);
  say(describeScenarioDir(prepared.scenarios));
  const batches = allBatches(prepared.plan);
  writeRunFile(runDir, RUN_FILES.tortureSuite, `${prepared.suite.name}\n`);
  writeRunFile(runDir, RUN_FILES.scenarios, formatScenariosFile(batches));
  writeRunFile(runDir, RUN_FILES.batches, formatBatchesFile(batches, prepared.cpus));
  writeRunFile(runDir, RUN_FILES.testid, await describeKernelTree(treeDir));
  for (const instance of prepared.instances) mkdirSync(path.join(runDir, instance.id));
  options.kernels?.planned(runDir, batches, prepared.suite.name);

  // Probed beside the build: each kernel's qemu-cmd is written the moment it is built.
  const accelProbe = options.buildonly ? Promise.resolve(undefined) : probeAccel(options.accel, options.qemuCmd ? { qemuCmd: options.qemuCmd } : {});
  accelProbe.catch(() => {});
  const instanceOf = new Map(batches.flatMap((b) => b.instances).map((x) => [x.id, x]));
  // qemu-cmd for every instance with a kernel: the exact command, rerunnable by hand or by kvm-again.
  const commands = new Map<string, BuiltQemuCommand>();
  const writeCommands = async (built: readonly KernelBuildResult[]): Promise<void> => {
    const accel = await accelProbe;
    for (const build of built) {
      if (!build.kernelImage) continue;
      commands.set(build.instance, writeQemuCmd({
        instance: instanceOf.get(build.instance)!,
        suite: prepared.suite,
        cfcommon: prepared.library.cfcommon,
        dir: path.join(runDir, build.instance),
        kernelImage: build.kernelImage,
        allottedCpus: prepared.cpus,
        options,
        // A --buildonly qemu-cmd names the accelerator the user asked for; kvm-again probes again.
        accel: accel?.accel ?? (options.accel === 'kvm' ? 'kvm' : 'tcg'),
      }));
    }
    options.kernels?.built(built);
  };

  const builds = await buildKernels({
    kernelDir: treeDir,
    instances: prepared.instances.map((instance) => ({ id: instance.id, scenario: instance.scenario, outDir: path.join(runDir, instance.id) })),
    cfcommon: prepared.library.cfcommon,
    suite: prepared.suite,
    defconfig: options.defconfig,
    kconfig: options.kconfig,
    kasan: options.kasan,
    kcsan: options.kcsan,
    ...(options.debugInfo ? { debugInfo: true } : {}),
    ...(options.kconfigChecks ? { kconfigChecks: options.kconfigChecks } : {}),
    jobs: prepared.cpus,
    kmakeArgs: options.kmakeArgs,
    trustMake: options.trustMake,
    ccache: options.ccache,
    reporter: { line: say, ...(options.progress?.build ? { event: (e) => options.progress!.build!(e) } : {}) },
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.kernelCompiler ? { compiler: options.kernelCompiler } : {}),
    onBuilt: writeCommands,
  });
  const buildOf = new Map<string, KernelBuildResult>(builds.map((b) => [b.instance, b]));
  for (const b of builds) say(`${b.instance}: kernel ${b.status}${b.failure ? ` (${b.failure.reason})` : ''}`);

  const accel = await accelProbe;
  if (accel) recordAccel(runDir, accel, say);

  const results = new Map<string, InstanceResult>();
  batches.forEach((batch, index) => {
    for (const instance of batch.instances) {
      const build = buildOf.get(instance.id)!;
      results.set(instance.id, {
        instance: instance.id,
        scenario: instance.scenario.name,
        batch: index + 1,
        cpus: instance.cpus,
        kernel: {
          source: build.status,
          ...(build.kernelVersion ? { version: build.kernelVersion } : {}),
          buildMs: build.durationMs,
          ...(build.startedAt ? { buildStartedAt: build.startedAt } : {}),
          configMismatches: build.configMismatches.map((m) => `${m.option}: wanted ${m.wanted}, got ${m.got}`),
        },
        warnings: [],
        ...(build.failure ? { verdict: buildFailedVerdict(instance.id, build.failure) } : {}),
      });
    }
  });

  for (const [id, command] of commands) results.get(id)!.warnings.push(...command.warnings);
  // In batch order, as the guests boot, whatever order the kernels came in.
  const ordered = new Map([...instanceOf.keys()].filter((id) => commands.has(id)).map((id) => [id, commands.get(id)!]));

  if (options.buildonly) say('Build-only run: kernels and qemu-cmd files written, nothing booted');
  else if (options.gdb) for (const id of ordered.keys()) say(gdbAttachLine(id, path.join(runDir, id, 'vmlinux')));
  return finishRun({
    runDir,
    suite: prepared.suite,
    scenarios: prepared.scenarios,
    batches,
    commands: ordered,
    results,
    options,
    ...(accel ? { accel } : {}),
    bootNothing: options.buildonly,
    startedAt,
    say,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.progress ? { progress: options.progress } : {}),
    ...(options.buildonly ? {} : { hostLoad: hostLoadFor(options.jitter, prepared.cpus, !options.noAffinity) }),
  });
}

