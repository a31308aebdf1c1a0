import { DEFAULTS } from '../options/defaults.js';
import { existsSync, realpathSync } from 'node:fs';
import type { RunProgressListener } from '../progress/run-monitor.js';
import path from 'node:path';
import { planRun, allBatches } from '../plan/plan.js';
import type { Batch } from '../plan/types.js';
import { DEFAULT_SHUTDOWN_GRACE_SECONDS, formatQemuCmdFile, probeAccel, SETTING, type AccelProbe, type BuiltQemuCommand } from '../qemu/index.js';
import { retargetQemuCommand } from '../qemu/retarget.js';
import type { InstanceResult, RunSummary } from '../report/types.js';
import { createRunDir } from '../rundir/create.js';
import { appendRunLog, formatBatchesFile, formatScenariosFile, writeRunFile } from '../rundir/files.js';
import { INSTANCE_FILES, RUN_FILES } from '../rundir/layout.js';
import { isUnder, regularFileInside } from '../rundir/safe-read.js';
import { mkdirInside, placeInside, writeInside } from '../rundir/safe-write.js';
import { printable } from '../util/printable.js';
import { finishRun, recordAccel } from '../run/finish.js';
import { hostLoadFor } from '../host-load/host-load.js';
import { NO_JITTER_SUITES, parseJitter } from '../host-load/jitter-spec.js';
import type { AccelRequest } from '../run/options.js';
import { localCpus } from '../run/prepare.js';
import { scenarioOfInstance } from '../scenarios/configs-spec.js';
import { getSuite } from '../scenarios/suites.js';
import type { ScenarioInstance } from '../scenarios/types.js';
import { KvmFarmError } from '../util/errors.js';
import { checkLinkMode, isInplace, type LinkMode } from './link.js';
import { checkInplace, clearForInplace } from './inplace.js';
import { checkDatestamp } from '../options/run-dir-names.js';
import { selectRerun, type RerunSelection, type SelectedRerun } from './select.js';
import { readSourceRun, type SourceInstance, type SourceRun } from './source.js';

/** kvm-again as a library call. */
export interface AgainOptions extends RerunSelection {
  /** The earlier run directory (a kvm-run, kvm-again or rcutorture run). */
  runDir: string;
  /** New test duration in seconds; the recorded one when absent. */
  durationSeconds?: number;
  /** How the kernels come over: hard link (default), symbolic link or copy; or `inplace`: no new directory. */
  link?: LinkMode;
  /** The new run directory's full path (`--rundir`); must not exist. */
  newRunDir?: string;
  /** The new run directory's name under `results` (`--datestamp`), instead of `<date>-again`. */
  datestamp?: string;
  /** Parent of the default `<date>-again` directory; default `res`. */
  results?: string;
  /** Boot arguments added after the recorded ones. */
  bootArgs?: string[];
  /** Prepare the new directory (links, qemu-cmd files) and boot nothing. */
  dryrun?: boolean;
  /** CPUs to plan a subset's batches into; default this machine's. */
  cpus?: number;
  /** Default auto: probe again, the machine may not be the one that ran before. */
  accel?: AccelRequest;
  qemuCmd?: string;
  shutdownGraceSeconds?: number;
  bootTimeoutSeconds?: number;
  log?: (line: string) => void;
  signal?: AbortSignal;
  /** Told of guests as they go, for a live display. */
  progress?: RunProgressListener;
}

/** What a rerun needs before it boots: the new directory, filled, and its plan. */
export interface PreparedRerun {
  source: SourceRun;
  selected: SelectedRerun;
  runDir: string;
  batches: Batch[];
  commands: Map<string, BuiltQemuCommand>;
  results: Map<string, InstanceResult>;
  durationSeconds: number;
  shutdownGraceSeconds: number;
  accel?: AccelProbe;
  say: (line: string) => void;
}

/** Build products a rerun carries over; console logs, diags and verdicts never come along. */
const CARRIED = [
  INSTANCE_FILES.vmlinux,
  INSTANCE_FILES.dotConfig,
  INSTANCE_FILES.systemMap,
  INSTANCE_FILES.makeOut,
  INSTANCE_FILES.configFragment,
  `${INSTANCE_FILES.configFragment}.input`,
  INSTANCE_FILES.makeDefconfigOut,
  INSTANCE_FILES.builtKernel,
];

/**
 * Reruns an earlier run's kernels without building: boots them again (whole run, a
 * subset, or the failures) into a new run directory, judges them, and returns the
 * summary. The earlier run directory is only read.
 */
export async function againRun(options: AgainOptions): Promise<RunSummary> {
  const startedAt = new Date();
  const prepared = await prepareRerun(options);
  return finishRun({
    runDir: prepared.runDir,
    suite: getSuite(prepared.source.suite),
    batches: prepared.batches,
    commands: prepared.commands,
    results: prepared.results,
    options: {
      durationSeconds: prepared.durationSeconds,
      shutdownGraceSeconds: prepared.shutdownGraceSeconds,
      bootTimeoutSeconds: options.bootTimeoutSeconds ?? DEFAULTS.bootTimeoutSeconds,
    },
    ...(prepared.accel ? { accel: prepared.accel } : {}),
    bootNothing: options.dryrun ?? false,
    startedAt,
    say: prepared.say,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.progress ? { progress: options.progress } : {}),
    // As kvm-again.sh reruns through kvm.sh's batch runner: kvm.sh's default jitter, guests pinned.
    ...(options.dryrun ? {} : { hostLoad: hostLoadFor(parseJitter(NO_JITTER_SUITES.includes(prepared.source.suite) ? '0' : DEFAULTS.jitter), options.cpus ?? localCpus(), true) }),
  });
}

/**
 * Checks everything, then makes the new run directory: kernels linked (or copied) from
 * the original run, each qemu-cmd rewritten for the new directory, duration and a fresh
 * boot token. Any error comes before anything is created.
 */
export async function prepareRerun(options: AgainOptions): Promise<PreparedRerun> {
  const log = options.log ?? (() => {});
  const mode = options.link ?? DEFAULTS.link;
  const source = readSourceRun(options.runDir);
  getSuite(source.suite);
  const selected = selectRerun(source.instances, options);
  const first = selected.instances[0];
  if (!first) throw new KvmFarmError('KVMFARM_BAD_ARGUMENT', `run directory ${source.dir} lists no instances`);
  const inplace = isInplace(mode);
  const ids = selected.instances.map((x) => x.id);
  const target = newRunDirTarget(options);
  if (isInplace(mode)) {
    const conflicting = { rundir: options.newRunDir !== undefined, datestamp: options.datestamp !== undefined, results: options.results !== undefined, subset: selected.subset };
    checkInplace({ mode, runDir: source.dir, instanceIds: ids, conflicting });
  } else {
    refuseInsideSource(target.full ?? target.parent, [source.dir, source.original], options.newRunDir !== undefined ? '--rundir' : options.results !== undefined ? '--results' : 'the results directory (default res, give --results)');
    if (target.full && existsSync(target.full)) {
      throw new KvmFarmError('KVMFARM_RUNDIR_EXISTS', `${options.newRunDir !== undefined ? '--rundir' : '--datestamp'} ${target.full} already exists; it is never overwritten`);
    }
    checkLinkMode(mode, first.kernelImage!, target.parent);
  }
  const durationSeconds = options.durationSeconds ?? recorded(first, SETTING.seconds);
  if (durationSeconds === undefined) {
    throw new KvmFarmError('KVMFARM_BAD_ARGUMENT', `${source.dir}/${first.id}/qemu-cmd records no duration; give --duration`);
  }
  const shutdownGraceSeconds = options.shutdownGraceSeconds ?? recorded(first, SETTING.grace) ?? DEFAULT_SHUTDOWN_GRACE_SECONDS;
  const accel = options.dryrun
    ? undefined
    : await probeAccel(options.accel ?? 'auto', options.qemuCmd ? { qemuCmd: options.qemuCmd } : {});

  // In place, the run directory is the earlier run's own: its guests' old results go first.
  const runDir = inplace
    ? source.dir
    : createRunDir({
        results: target.parent,
        ...(target.full ? { name: path.basename(target.full) } : { suffix: '-again' }),
      });
  if (inplace) clearForInplace(runDir, ids, !options.dryrun);
  const say = (line: string) => {
    log(line);
    appendRunLog(runDir, line);
  };
  say(`Results directory: ${runDir}`);
  say(`Re-run of ${source.dir}${source.original === source.dir ? '' : ` (kernels from ${source.original})`}, --link ${mode}`);
  if (selected.skippedWithoutKernel.length > 0) say(`--failed: no kernel to boot, left out: ${selected.skippedWithoutKernel.join(' ')}`);
  if (!inplace) {
    writeRunFile(runDir, RUN_FILES.reRun, `${source.original}\n`);
    writeRunFile(runDir, RUN_FILES.tortureSuite, `${source.suite}\n`);
    if (regularFileInside(source.original, RUN_FILES.testid)) placeInside(source.original, RUN_FILES.testid, runDir, RUN_FILES.testid, 'copy');
  }
  if (accel) recordAccel(runDir, accel, say);

  const cpus = options.cpus ?? localCpus();
  const batches = planBatches(selected, cpus, source.original);
  writeRunFile(runDir, RUN_FILES.scenarios, formatScenariosFile(batches));
  writeRunFile(runDir, RUN_FILES.batches, formatBatchesFile(batches, cpus));

  const commands = new Map<string, BuiltQemuCommand>();
  const results = new Map<string, InstanceResult>();
  const byId = new Map(selected.instances.map((x) => [x.id, x]));
  const into: RerunTarget = {
    runDir, mode, sourceDir: source.dir, shutdownGraceSeconds, bootArgs: options.bootArgs ?? [],
    ...(options.durationSeconds === undefined ? {} : { durationSeconds: options.durationSeconds }),
    ...(accel ? { accel: accel.accel } : options.accel === 'kvm' || options.accel === 'tcg' ? { accel: options.accel } : {}),
    ...(options.qemuCmd ? { qemuCmd: options.qemuCmd } : {}),
  };
  for (const [index, batch] of batches.entries()) {
    for (const instance of batch.instances) {
      const x = byId.get(instance.id)!;
      commands.set(x.id, carryInstance(into, x));
      results.set(x.id, {
        instance: x.id,
        scenario: instance.scenario.name,
        batch: index + 1,
        cpus: instance.cpus,
        kernel: { source: 'reused', configMismatches: [] },
        warnings: [],
      });
    }
  }
  say(`${commands.size} instance(s) ready in ${batches.length} batch(es)${selected.subset ? ' (a subset, batches planned anew)' : ''}`);
  return { source, selected, runDir, batches, commands, results, durationSeconds, shutdownGraceSeconds, ...(accel ? { accel } : {}), say };
}

/** Where a rerun's instances go and how their commands change. */
export interface RerunTarget {
  runDir: string;
  mode: LinkMode;
  /** The run directory named for rerunning: each new qemu-cmd records it as its origin. */
  sourceDir: string;
  /** Absent: each command keeps its recorded duration. */
  durationSeconds?: number;
  shutdownGraceSeconds: number;
  bootArgs: string[];
  accel?: 'kvm' | 'tcg';
  qemuCmd?: string;
}

/**
 * One instance into the new run directory: its kernel and build products linked (or
 * copied) from the earlier run, its qemu-cmd rewritten for the new directory with a
 * fresh boot token. Returns the new command.
 */
export function carryInstance(t: RerunTarget, x: SourceInstance): BuiltQemuCommand {
  const mode = t.mode;
  const dir = isInplace(mode) ? path.join(t.runDir, x.id) : mkdirInside(t.runDir, x.id);
  const image = isInplace(mode) ? x.kernelImage! : path.join(dir, path.basename(x.kernelImage!));
  // Only regular files inside the earlier run come over; a link out of it is refused, not copied.
  if (!isInplace(mode)) {
    placeInside(x.kernelRoot, x.kernelImage!, t.runDir, image, mode);
    for (const name of CARRIED) {
      const from = path.join(x.kernelDir, name);
      if (regularFileInside(x.kernelRoot, from)) placeInside(x.kernelRoot, from, t.runDir, path.join(dir, name), mode);
    }
  }
  const command = retargetQemuCommand(x.command!, {
    kernel: image,
    consoleLog: path.join(dir, INSTANCE_FILES.consoleLog),
    ...(t.durationSeconds === undefined ? {} : { seconds: t.durationSeconds }),
    shutdownGraceSeconds: t.shutdownGraceSeconds,
    bootArgs: t.bootArgs,
    ...(t.accel ? { accel: t.accel } : {}),
    ...(t.qemuCmd ? { qemuBinary: t.qemuCmd } : {}),
    origin: path.join(t.sourceDir, x.id, INSTANCE_FILES.qemuCmd),
  });
  writeInside(t.runDir, path.join(x.id, INSTANCE_FILES.qemuCmd), formatQemuCmdFile(command));
  return command;
}

function newRunDirTarget(options: AgainOptions): { parent: string; full?: string } {
  if (options.newRunDir !== undefined && options.datestamp !== undefined) {
    throw new KvmFarmError('KVMFARM_BAD_ARGUMENT', '--rundir and --datestamp both name the new run directory; give one');
  }
  if (options.datestamp !== undefined) {
    const full = path.join(path.resolve(options.results ?? DEFAULTS.results), checkDatestamp(options.datestamp));
    return { parent: path.dirname(full), full };
  }
  if (options.newRunDir !== undefined) {
    const full = path.resolve(options.newRunDir);
    return { parent: path.dirname(full), full };
  }
  return { parent: path.resolve(options.results ?? DEFAULTS.results) };
}

/** The earlier run is only read: a new run inside it (or inside the run its kernels come from) is refused. */
function refuseInsideSource(target: string, sources: string[], flag: string): void {
  const real = realOfNearest(target);
  for (const dir of sources) {
    if (isUnder(realpathSync(dir), real)) {
      throw new KvmFarmError('KVMFARM_BAD_ARGUMENT', `${flag} ${printable(target)} is inside ${printable(dir)}, the run being re-run, which kvm-again only reads`);
    }
  }
}

/** The real path of `file`, resolving the part of it that exists (the rest does not yet). */
function realOfNearest(file: string): string {
  let existing = path.resolve(file);
  const rest: string[] = [];
  while (!existsSync(existing) && path.dirname(existing) !== existing) {
    rest.unshift(path.basename(existing));
    existing = path.dirname(existing);
  }
  return path.join(realpathSync(existing), ...rest);
}

function recorded(x: SourceInstance, setting: string): number | undefined {
  const value = Number(x.command?.settings[setting]);
  return Number.isFinite(value) && value > 0 ? value : undefined;
}

/** The recorded batches for a whole rerun; a subset is packed anew so it does not run half-empty batches. */
function planBatches(selected: SelectedRerun, cpus: number, original: string): Batch[] {
  const asInstance = (x: SourceInstance): ScenarioInstance => ({
    id: x.id,
    cpus: recorded(x, SETTING.cpus) ?? 1,
    scenario: { name: scenarioOfInstance(x.id), dir: original, settings: [], checks: [], bootArgs: [] },
  });
  if (selected.subset) return allBatches(planRun(selected.instances.map(asInstance), [{ name: 'localhost', cpus }]));
  const numbers = [...new Set(selected.instances.map((x) => x.batch))];
  return numbers.map((n, i) => {
    const instances = selected.instances.filter((x) => x.batch === n).map(asInstance);
    const demand = instances.reduce((sum, x) => sum + x.cpus, 0);
    return { number: i + 1, instances, cpus: demand, overflow: instances.length === 1 && demand > cpus };
  });
}
