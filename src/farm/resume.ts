import path from 'node:path';
import type { Verdict } from '../analyze/types.js';
import type { Batch } from '../plan/types.js';
import { parseQemuCmdFile, type BuiltQemuCommand } from '../qemu/index.js';
import { retargetQemuCommand } from '../qemu/retarget.js';
import type { GuestRun } from '../qemu/types.js';
import type { InstanceResult } from '../report/types.js';
import { INSTANCE_FILES } from '../rundir/layout.js';
import { readTextInside, regularFileInside } from '../rundir/safe-read.js';
import type { ScenarioInstance } from '../scenarios/types.js';
import { getSuite } from '../scenarios/suites.js';
import { KvmFarmError } from '../util/errors.js';
import { printable } from '../util/printable.js';
import type { JournalState } from './journal.js';
import type { Attempt } from './requeue.js';
import type { ResumeSeed } from './scheduler.js';

/** A run as its journal and instance directories tell it, ready to be driven on. */
export interface ResumePlan {
  instances: ScenarioInstance[];
  /** Every instance's record; those judged before the coordinator died already carry their verdict. */
  results: Map<string, InstanceResult>;
  commands: Map<string, BuiltQemuCommand>;
  /** Instances to start now: never placed, or lost and not followed. */
  queue: ScenarioInstance[];
  seed: ResumeSeed;
  judgedBefore: string[];
}

/**
 * What is left to do in a run whose coordinator died: instances judged then keep
 * their verdict (read back from verdict.json, checked against the journal), guests
 * placed and not judged are to be followed again on their hosts, the rest are queued.
 * Everything read is checked: commands go through the same checks as kvm-again's,
 * kernels must be regular files inside the run directory.
 */
export function planResume(runDir: string, state: JournalState, qemuCmd?: string): ResumePlan {
  const { start } = state;
  getSuite(start.suite);
  const scenarioDir = path.dirname(runDir);
  const instances: ScenarioInstance[] = start.instances.map((x) => ({
    id: x.id, cpus: x.cpus, scenario: { name: x.scenario, dir: scenarioDir, settings: [], checks: [], bootArgs: [] },
  }));
  const byId = new Map(instances.map((x) => [x.id, x]));
  const batchOf = new Map<string, number>();
  for (const b of state.batches) for (const id of b.instances) batchOf.set(id, b.number);
  const commands = new Map<string, BuiltQemuCommand>();
  const results = new Map<string, InstanceResult>();
  for (const x of instances) {
    commands.set(x.id, readCommand(runDir, x.id, qemuCmd));
    results.set(x.id, { instance: x.id, scenario: x.scenario.name, batch: batchOf.get(x.id) ?? 0, cpus: x.cpus, kernel: { source: 'reused', configMismatches: [] }, warnings: [] });
  }
  const judgedBefore: string[] = [];
  for (const a of state.attempts) {
    if (a.outcome !== 'judged') continue;
    const result = results.get(a.instance)!;
    result.verdict = readVerdict(runDir, a.instance, a.verdict!);
    result.host = a.host;
    const guest = readGuest(runDir, a.instance);
    if (guest) result.guest = guest;
    judgedBefore.push(a.instance);
  }
  const judged = new Set(judgedBefore);
  // The newest unjudged attempt still placed is the one to follow; older ones were lost.
  const follow = new Map<string, (typeof state.attempts)[number]>();
  for (const a of state.attempts) {
    if (judged.has(a.instance) || (a.outcome !== 'running' && a.outcome !== 'ended')) continue;
    const seen = follow.get(a.instance);
    if (!seen || seen.attempt < a.attempt) follow.set(a.instance, a);
  }
  const ledger: Attempt[] = state.attempts.map((a) => ({
    instance: a.instance, attempt: a.attempt, host: a.host,
    outcome: a.outcome === 'lost' ? 'lost' : (a.outcome === 'running' || a.outcome === 'ended') && follow.get(a.instance) === a ? 'running' : a.outcome === 'running' || a.outcome === 'ended' ? 'lost' : 'finished',
  }));
  const batches: Batch[] = state.batches.map((b) => {
    const xs = b.instances.map((id) => byId.get(id)!);
    const cpus = xs.reduce((n, x) => n + x.cpus, 0);
    return { number: b.number, instances: xs, cpus, overflow: false };
  });
  // Batch numbers must keep counting up from the journal's.
  batches.sort((a, b) => a.number - b.number);
  const queue = instances.filter((x) => !judged.has(x.id) && !follow.has(x.id));
  return { instances, results, commands, queue, seed: { ledger, batches, follow: [...follow.values()] }, judgedBefore };
}

function readCommand(runDir: string, id: string, qemuCmd?: string): BuiltQemuCommand {
  const file = path.join(id, INSTANCE_FILES.qemuCmd);
  const text = readTextInside(runDir, file);
  if (text === undefined) throw new KvmFarmError('KVMFARM_NOT_A_RUNDIR', `${printable(path.join(runDir, file))} is missing (the coordinator stopped before that kernel was built, or the file was removed): the run cannot be resumed; run it again, kernels already built come from the cache`);
  const recorded = parseQemuCmdFile(text);
  const kernelAt = recorded.argv.lastIndexOf('-kernel');
  const name = path.basename(recorded.argv[kernelAt + 1] ?? INSTANCE_FILES.bzImage);
  const kernel = path.join(runDir, id, name);
  // Only a kernel inside this run directory is booted: a qemu-cmd naming another file is refused.
  if (kernelAt < 0 || !regularFileInside(runDir, path.join(id, name))) {
    throw new KvmFarmError('KVMFARM_NO_KERNEL', `${printable(path.join(runDir, id))} has no kernel ${printable(name)} inside the run directory`);
  }
  return retargetQemuCommand(recorded, {
    kernel, consoleLog: path.join(runDir, id, INSTANCE_FILES.consoleLog), token: recorded.settings.KVMFARM_TOKEN && /^[A-Za-z0-9_-]{1,64}$/.test(recorded.settings.KVMFARM_TOKEN) ? recorded.settings.KVMFARM_TOKEN : 'resume',
    origin: path.join(runDir, file), ...(qemuCmd ? { qemuBinary: qemuCmd } : {}),
  });
}

/** verdict.json of an instance judged before the coordinator died; it must say what the journal says. */
function readVerdict(runDir: string, id: string, kind: Verdict['kind']): Verdict {
  const text = readTextInside(runDir, path.join(id, INSTANCE_FILES.verdict));
  let value: Partial<Verdict> | undefined;
  try {
    value = text === undefined ? undefined : (JSON.parse(text) as Partial<Verdict>);
  } catch {
    value = undefined;
  }
  const strings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');
  if (value && value.kind === kind && value.instance === id && strings(value.reasons) && strings(value.quoted)) return value as Verdict;
  // A give-up after host losses writes no verdict.json; anything else that disagrees is not taken on trust.
  if (kind === 'infra-error') return { instance: id, kind, reasons: ['host lost; --retries used up before the coordinator stopped, so the kernel was never judged'], quoted: [] };
  throw new KvmFarmError('KVMFARM_NOT_A_RUNDIR', `${printable(path.join(runDir, id, INSTANCE_FILES.verdict))} does not hold the ${kind} verdict the journal records; the run cannot be resumed`);
}

function readGuest(runDir: string, id: string): GuestRun | undefined {
  const text = readTextInside(runDir, path.join(id, INSTANCE_FILES.guest));
  if (text === undefined) return undefined;
  try {
    const g = JSON.parse(text) as GuestRun;
    const ok = g.instance === id && typeof g.durationMs === 'number' && typeof g.host === 'string' && (g.exitCode === null || typeof g.exitCode === 'number');
    return ok ? g : undefined;
  } catch {
    return undefined;
  }
}
