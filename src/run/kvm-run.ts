import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildKernels, type KernelBuildResult } from '../build/index.js';
import { resolveKernelTree } from '../build/kernel-tree.js';
import { readBzImageBanner } from '../build/kernel-banner.js';
import { allBatches } from '../plan/plan.js';
import { probeAccel, type BuiltQemuCommand } from '../qemu/index.js';
import { countVerdicts, runExitCode } from '../report/totals.js';
import type { InstanceResult, RunSummary } from '../report/types.js';
import { writeReports } from '../report/write.js';
import { createRunDir } from '../rundir/create.js';
import { appendRunLog, describeKernelTree, formatBatchesFile, formatScenariosFile, writeRunFile } from '../rundir/files.js';
import { INSTANCE_FILES, RUN_FILES } from '../rundir/layout.js';
import { bootBatches } from './boot.js';
import { buildFailedVerdict } from './judge-instance.js';
import type { RunOptions } from './options.js';
import { prepareRun } from './prepare.js';
import { writeQemuCmd } from './qemu-cmd.js';

export interface RunKvmOptions extends RunOptions {
  /** Aborting stops every guest and marks the run interrupted. */
  signal?: AbortSignal;
}

/**
 * kvm-run as a library call: plan, build, boot, judge, report. Returns one result
 * per scenario instance; the run directory holds the same in summary.json.
 */
export async function runKvm(options: RunKvmOptions): Promise<RunSummary> {
  const log = options.log ?? (() => {});
  const startedAt = new Date();
  const prepared = prepareRun(options);
  const tree = resolveKernelTree(options.kernelDir);
  const runDir = createRunDir({
    ...(options.results === undefined ? {} : { results: options.results }),
    ...(options.datestamp === undefined ? {} : { name: options.datestamp }),
  });
  const say = (line: string) => {
    log(line);
    appendRunLog(runDir, line);
  };
  say(`Results directory: ${runDir}`);
  const batches = allBatches(prepared.plan);
  writeRunFile(runDir, RUN_FILES.tortureSuite, `${prepared.suite.name}\n`);
  writeRunFile(runDir, RUN_FILES.scenarios, formatScenariosFile(batches));
  writeRunFile(runDir, RUN_FILES.batches, formatBatchesFile(batches, prepared.cpus));
  writeRunFile(runDir, RUN_FILES.testid, await describeKernelTree(tree.dir));
  for (const instance of prepared.instances) mkdirSync(path.join(runDir, instance.id));

  const builds = await buildKernels({
    kernelDir: tree.dir,
    instances: prepared.instances.map((instance) => ({ id: instance.id, scenario: instance.scenario, outDir: path.join(runDir, instance.id) })),
    cfcommon: prepared.library.cfcommon,
    suite: prepared.suite,
    defconfig: options.defconfig,
    kconfig: options.kconfig,
    kasan: options.kasan,
    kcsan: options.kcsan,
    jobs: prepared.cpus,
    kmakeArgs: options.kmakeArgs,
    trustMake: options.trustMake,
    ccache: options.ccache,
    reporter: { line: say },
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const buildOf = new Map<string, KernelBuildResult>(builds.map((b) => [b.instance, b]));
  for (const b of builds) say(`${b.instance}: kernel ${b.status}${b.failure ? ` (${b.failure.reason})` : ''}`);

  const accel = options.buildonly ? undefined : await probeAccel(options.accel, options.qemuCmd ? { qemuCmd: options.qemuCmd } : {});
  if (accel) {
    say(`Accelerator: ${accel.accel} (${accel.reason})`);
    writeRunFile(runDir, RUN_FILES.accel, `${accel.accel}\n${accel.reason}\n`);
  }

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
          configMismatches: build.configMismatches.map((m) => `${m.option}: wanted ${m.wanted}, got ${m.got}`),
        },
        warnings: [],
        ...(build.failure ? { verdict: buildFailedVerdict(instance.id, build.failure) } : {}),
      });
    }
  });

  // qemu-cmd for every instance with a kernel: the exact command, rerunnable by hand or by kvm-again.
  const commands = new Map<string, BuiltQemuCommand>();
  for (const batch of batches) {
    for (const instance of batch.instances) {
      const build = buildOf.get(instance.id)!;
      if (!build.kernelImage) continue;
      const written = writeQemuCmd({
        instance,
        suite: prepared.suite,
        cfcommon: prepared.library.cfcommon,
        dir: path.join(runDir, instance.id),
        kernelImage: build.kernelImage,
        allottedCpus: prepared.cpus,
        options,
        // A --buildonly qemu-cmd names the accelerator the user asked for; kvm-again probes again.
        accel: accel?.accel ?? (options.accel === 'kvm' ? 'kvm' : 'tcg'),
      });
      commands.set(instance.id, written);
      results.get(instance.id)!.warnings.push(...written.warnings);
    }
  }

  let interrupted = false;
  if (options.buildonly) {
    writeRunFile(runDir, RUN_FILES.buildonly, '');
    for (const id of commands.keys()) writeFileSync(path.join(runDir, id, INSTANCE_FILES.buildonly), '');
    say('Build-only run: kernels and qemu-cmd files written, nothing booted');
  } else {
    const banners = new Map(
      await Promise.all(
        [...commands.keys()].map(async (id) => [id, await readBzImageBanner(buildOf.get(id)!.kernelImage!)] as const),
      ),
    );
    interrupted = await bootBatches({
      runDir,
      batches,
      commands,
      banners,
      results,
      suite: prepared.suite,
      options,
      accel: accel!.accel,
      say,
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }

  const instances = batches.flatMap((b) => b.instances.map((x) => results.get(x.id)!));
  const summary: RunSummary = {
    runDir,
    suite: prepared.suite.name,
    startedAt: startedAt.toISOString(),
    endedAt: new Date().toISOString(),
    durationSeconds: options.durationSeconds,
    ...(accel ? { accel: accel.accel, accelReason: accel.reason } : {}),
    buildonly: options.buildonly,
    interrupted,
    instances,
    totals: countVerdicts(instances),
    exitCode: runExitCode(instances, interrupted, options.buildonly),
  };
  if (interrupted) writeRunFile(runDir, RUN_FILES.interrupted, `${summary.endedAt}\n`);
  writeReports(summary);
  return summary;
}
