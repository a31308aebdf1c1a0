import { allBatches } from '../plan/plan.js';
import type { Batch } from '../plan/types.js';
import type { DryrunMode } from '../options/defaults.js';
import type { RunOptions } from './options.js';
import { prepareRun } from './prepare.js';
import { describeScript } from './script.js';
import { formatScenariosFile } from '../rundir/files.js';
import { describeScenarioDir, type ScenarioDirSource } from '../scenarios/scenario-dir.js';

/** `batch instance cpus` lines, `-ovf` marking a guest wider than the machine, as kvm.sh prints them. */
export function formatBatches(batches: Batch[]): string {
  return batches
    .flatMap((b, i) => b.instances.map((x) => `${i + 1} ${x.id} ${x.cpus}${b.overflow ? ' (overflow)' : ''}`))
    .join('\n');
}

export function formatScenarios(batches: Batch[]): string {
  return formatScenariosFile(batches).trimEnd();
}

/** The schedule: batches in order, what each builds and boots, and the totals. */
export function formatSchedule(batches: Batch[], cpus: number): string {
  const lines: string[] = [];
  const scenarios = new Set<string>();
  batches.forEach((b, i) => {
    lines.push(`Batch ${i + 1}: ${b.instances.length} guest(s), ${b.cpus} of ${cpus} CPUs${b.overflow ? ', overflow' : ''}`);
    for (const x of b.instances) {
      scenarios.add(x.scenario.name);
      lines.push(`  ${x.id} ${x.cpus} CPU(s)`);
    }
  });
  lines.push(`Total number of kernels to build: ${scenarios.size} (at most; identical configs build once)`);
  lines.push(`Total number of batches: ${batches.length}`);
  return lines.join('\n');
}

/** One planned batch as a caller reads it: which instances, how wide. */
export interface PlannedBatch {
  number: number;
  cpus: number;
  overflow: boolean;
  instances: { id: string; scenario: string; cpus: number }[];
}

/** What `run({ dryrun })` returns: the plan as data, and as kvm.sh would print it. */
export interface RunPlan {
  mode: DryrunMode;
  /** The scenario directory the instances came from. */
  scenariosDir: string;
  /** Why that directory: given by --scenarios, the kernel tree's own, or bundled. */
  scenariosSource: ScenarioDirSource;
  /** One line naming the directory and why, for a person. */
  scenariosLine: string;
  /** CPUs the batches were packed into. */
  cpus: number;
  batches: PlannedBatch[];
  /** The `--dryrun` output for `mode`. */
  text: string;
}

/** `--dryrun`: plans the run and describes it, touching nothing. */
export function planOnly(options: RunOptions, mode: DryrunMode): RunPlan {
  const prepared = prepareRun(options);
  const batches = allBatches(prepared.plan);
  const text =
    mode === 'batches' ? formatBatches(batches)
    : mode === 'scenarios' ? formatScenarios(batches)
    : mode === 'sched' ? formatSchedule(batches, prepared.cpus)
    : describeScript(prepared, options);
  return {
    mode,
    scenariosDir: prepared.library.dir,
    scenariosSource: prepared.scenarios.source,
    scenariosLine: describeScenarioDir(prepared.scenarios),
    cpus: prepared.cpus,
    batches: batches.map((b, i) => ({
      number: i + 1, cpus: b.cpus, overflow: b.overflow,
      instances: b.instances.map((x) => ({ id: x.id, scenario: x.scenario.name, cpus: x.cpus })),
    })),
    text,
  };
}
