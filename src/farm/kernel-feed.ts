import path from 'node:path';
import { carryInstance, type RerunTarget } from '../again/again.js';
import { readSourceRun } from '../again/source.js';
import { buildFailedVerdict } from '../analyze/judge.js';
import type { KernelBuildResult } from '../build/types.js';
import { DEFAULTS } from '../options/defaults.js';
import type { Batch } from '../plan/types.js';
import { DEFAULT_SHUTDOWN_GRACE_SECONDS, type BuiltQemuCommand } from '../qemu/index.js';
import type { InstanceResult } from '../report/types.js';
import type { KernelListener } from '../run/kvm-run.js';
import { createRunDir } from '../rundir/create.js';
import { appendRunLog, formatBatchesFile, formatScenariosFile, writeRunFile } from '../rundir/files.js';
import { RUN_FILES } from '../rundir/layout.js';
import { placeInside } from '../rundir/safe-write.js';
import { regularFileInside } from '../rundir/safe-read.js';
import type { ScenarioInstance } from '../scenarios/types.js';
import type { BuildFarm } from './build-farm.js';
import type { KernelSupply, SupplyListener } from './coordinator.js';
import { notRun } from './run-guest-on.js';

export interface KernelFeedOptions {
  /** From the build's options: the guests' shutdown grace and qemu binary, as kvm-again would take them. */
  shutdownGraceSeconds?: number;
  qemuCmd?: string;
  /** Builds on the farm's hosts; absent when every kernel is built here. */
  farm?: BuildFarm;
  log: (line: string) => void;
}

/** The run directory the guests run in, opened as soon as the build has planned its instances. */
export interface FedRun {
  runDir: string;
  suite: string;
  buildRunDir: string;
  instances: ScenarioInstance[];
  results: Map<string, InstanceResult>;
  commands: Map<string, BuiltQemuCommand>;
  say: (line: string) => void;
}

/**
 * Feeds a farm run kernels as the build makes them, so guests start while other
 * kernels still build. It listens to the build (kvm-run --buildonly into its own run
 * directory, as kvm-remote.sh does) and fills the run's directory beside it
 * (`<build>-remote`) as kvm-again would: each kernel linked over and its qemu-cmd
 * rewritten the moment it exists. It tells the run which instances may go, and which
 * can never run (their build failed); with a build farm it lends the run's view of
 * busy hosts to the farm and the farm's builds to the run.
 */
export class KernelFeed implements KernelListener, KernelSupply {
  readonly opened: Promise<FedRun>;
  private open!: (run: FedRun) => void;
  private fed?: FedRun;
  private run?: SupplyListener;
  private target?: RerunTarget;
  /** Instances the build has told of (kernel placed, or failed). */
  private readonly told = new Set<string>();

  constructor(private readonly o: KernelFeedOptions) {
    this.opened = new Promise((resolve) => (this.open = resolve));
  }

  get builds(): KernelSupply['builds'] {
    const farm = this.o.farm;
    return farm ? { offer: (host) => farm.offer(host) } : undefined;
  }

  planned(buildRunDir: string, batches: readonly Batch[], suite: string): void {
    const target = `${buildRunDir}-remote`;
    const runDir = createRunDir({ results: path.dirname(target), name: path.basename(target) });
    const say = (line: string): void => {
      this.o.log(line);
      appendRunLog(runDir, line);
    };
    say(`Results directory: ${runDir}`);
    say(`Kernels from ${buildRunDir}, each run as soon as it is built, --link ${DEFAULTS.link}`);
    writeRunFile(runDir, RUN_FILES.reRun, `${buildRunDir}\n`);
    writeRunFile(runDir, RUN_FILES.tortureSuite, `${suite}\n`);
    if (regularFileInside(buildRunDir, RUN_FILES.testid)) placeInside(buildRunDir, RUN_FILES.testid, runDir, RUN_FILES.testid, 'copy');
    writeRunFile(runDir, RUN_FILES.scenarios, formatScenariosFile([...batches]));
    writeRunFile(runDir, RUN_FILES.batches, formatBatchesFile([...batches], batches.reduce((n, b) => Math.max(n, b.cpus), 1)));
    const results = new Map<string, InstanceResult>();
    batches.forEach((batch, index) => {
      for (const x of batch.instances) {
        results.set(x.id, { instance: x.id, scenario: x.scenario.name, batch: index + 1, cpus: x.cpus, kernel: { source: 'reused', configMismatches: [] }, warnings: [] });
      }
    });
    this.target = {
      runDir, mode: DEFAULTS.link, sourceDir: buildRunDir, bootArgs: [],
      shutdownGraceSeconds: this.o.shutdownGraceSeconds ?? DEFAULT_SHUTDOWN_GRACE_SECONDS,
      ...(this.o.qemuCmd ? { qemuCmd: this.o.qemuCmd } : {}),
    };
    this.fed = { runDir, suite, buildRunDir, instances: batches.flatMap((b) => b.instances), results, commands: new Map(), say };
    this.open(this.fed);
  }

  built(builds: readonly KernelBuildResult[]): void {
    const fed = this.fed!;
    const ready: string[] = [];
    const failed: string[] = [];
    const source = builds.some((b) => b.kernelImage) ? readSourceRun(fed.buildRunDir) : undefined;
    for (const b of builds) {
      this.told.add(b.instance);
      const result = fed.results.get(b.instance)!;
      if (b.failure) {
        result.verdict = buildFailedVerdict(b.instance, b.failure);
        failed.push(b.instance);
        continue;
      }
      try {
        const x = source!.instances.find((s) => s.id === b.instance);
        if (!x?.kernelImage || !x.command) throw new Error(`${b.instance} has no kernel or qemu-cmd in ${fed.buildRunDir}`);
        fed.commands.set(b.instance, carryInstance(this.target!, x));
        ready.push(b.instance);
      } catch (error) {
        notRun(result, `its kernel could not be placed in ${fed.runDir}: ${(error as Error).message}`);
        failed.push(b.instance);
      }
    }
    if (ready.length > 0) fed.say(`kernel ready: ${ready.join(' ')}`);
    if (ready.length > 0) this.run?.ready(ready);
    if (failed.length > 0) this.run?.failed(failed);
  }

  /** Some instance's kernel is still to come from the build. */
  get pending(): boolean {
    return !!this.fed && this.fed.instances.some((x) => !this.told.has(x.id));
  }

  /** The build is over: whatever still waits for a kernel never gets one, and is not run. */
  ended(why: string): void {
    const fed = this.fed;
    if (!fed) return;
    const left = this.held();
    for (const id of left) notRun(fed.results.get(id)!, why);
    if (left.length > 0) this.run?.failed(left);
  }

  held(): string[] {
    const fed = this.fed!;
    return fed.instances.map((x) => x.id).filter((id) => !fed.commands.has(id) && !fed.results.get(id)!.verdict);
  }

  connect(run: SupplyListener): void {
    this.run = run;
    this.o.farm?.attach({ busy: (host) => run.busy(host), idle: (host) => run.idle(host) });
  }
}
