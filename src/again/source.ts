import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { VerdictKind } from '../analyze/types.js';
import { parseQemuCmdFile } from '../qemu/index.js';
import type { QemuCommand } from '../qemu/types.js';
import type { RunSummary } from '../report/types.js';
import { printable } from '../util/printable.js';
import { readRunDir } from '../rundir/files.js';
import { readTextInside, regularFileInside } from '../rundir/safe-read.js';
import { KvmFarmError } from '../util/errors.js';
import { INSTANCE_FILES, RUN_FILES } from '../rundir/layout.js';

/** One instance of an earlier run, as kvm-again finds it on disk. */
export interface SourceInstance {
  id: string;
  /** Batch number in the named run's `scenarios` file. */
  batch: number;
  /** The directory its kernel and build products come from: the original run's when it still exists. */
  kernelDir: string;
  /** The run directory holding kernelDir: every file taken from kernelDir must lie inside it. */
  kernelRoot: string;
  /** The boot image, when there is one. */
  kernelImage?: string;
  /** The recorded qemu command, when there is one. */
  command?: QemuCommand;
  /** Its verdict in the named run; absent when it never booted. */
  verdict?: VerdictKind;
}

export interface SourceRun {
  /** The run directory the user named. */
  dir: string;
  /**
   * The first run of the chain (a re-run's own `re-run` file names it), where the kernels
   * were built: reruns of reruns link back to it, so links and commands never chain.
   */
  original: string;
  suite: string;
  instances: SourceInstance[];
}

/** A run directory read for rerunning: batches, kernels, qemu-cmd files and verdicts. Reads only. */
export function readSourceRun(dir: string): SourceRun {
  const run = readRunDir(dir);
  const original = originalRun(run.dir);
  const verdicts = readVerdicts(run.dir, run.batches.flat());
  const instances = run.batches.flatMap((ids, index) =>
    ids.map((id): SourceInstance => {
      const fromOriginal = path.join(original, id);
      // The original may have been pruned down; the named run's own (linked) files then serve.
      const kernelRoot = original !== run.dir && existsSync(fromOriginal) ? original : run.dir;
      const cmdText = readTextInside(run.dir, path.join(id, INSTANCE_FILES.qemuCmd));
      const command = cmdText === undefined ? undefined : parseRecordedCommand(cmdText, path.join(run.dir, id, INSTANCE_FILES.qemuCmd));
      const imageName = command ? path.basename(command.argv[command.argv.lastIndexOf('-kernel') + 1] ?? INSTANCE_FILES.bzImage) : INSTANCE_FILES.bzImage;
      // Only a regular file inside its run directory is a kernel: a link to /etc/shadow is refused, not copied.
      const candidates: [root: string, file: string][] = [[kernelRoot, path.join(id, imageName)], [run.dir, path.join(id, imageName)]];
      const found = firstRegular(candidates);
      const verdict = verdicts.get(id);
      return {
        id,
        batch: index + 1,
        kernelDir: found ? path.join(found.root, id) : path.join(kernelRoot, id),
        kernelRoot: found ? found.root : kernelRoot,
        ...(found ? { kernelImage: path.join(found.root, id, imageName) } : {}),
        ...(command ? { command } : {}),
        ...(verdict ? { verdict } : {}),
      };
    }),
  );
  return { dir: run.dir, original, suite: run.suite, instances };
}

/** A qemu-cmd file's command; a file kvm-farm cannot read is an error naming it. */
function parseRecordedCommand(text: string, file: string): QemuCommand {
  try {
    return parseQemuCmdFile(text);
  } catch (error) {
    throw new KvmFarmError('KVMFARM_BAD_QEMU_CMD', `${printable(file)}: ${(error as Error).message}`);
  }
}

/**
 * Follows `re-run` files back to the run that built the kernels (bounded, in case
 * of a loop). A `re-run` file is data from the run directory: it may only lead to
 * another run directory (with scenarios and torture_suite files), whose files are
 * then read under the same rules; anything else leaves the named run as the original.
 */
function originalRun(dir: string): string {
  let current = dir;
  for (let hops = 0; hops < 64; hops++) {
    const named = readTextInside(current, RUN_FILES.reRun)?.split('\n')[0]!.trim();
    if (!named) return current;
    const next = path.resolve(current, named);
    if (next === current || !isRunDir(next)) return current;
    current = next;
  }
  return current;
}

/** The first candidate that is a regular file inside its root; a later one is not even looked at. */
function firstRegular(candidates: [root: string, file: string][]): { root: string } | undefined {
  for (const [root, file] of candidates) if (regularFileInside(root, file)) return { root };
  return undefined;
}

function isRunDir(dir: string): boolean {
  try {
    return statSync(dir).isDirectory() && regularFileInside(dir, RUN_FILES.scenarios) !== undefined && regularFileInside(dir, RUN_FILES.tortureSuite) !== undefined;
  } catch {
    return false;
  }
}

/** Verdicts from summary.json, or from each instance's verdict.json when the summary is missing. */
function readVerdicts(dir: string, ids: string[]): Map<string, VerdictKind> {
  const verdicts = new Map<string, VerdictKind>();
  try {
    const summary = JSON.parse(readTextInside(dir, RUN_FILES.summary) ?? 'null') as RunSummary | null;
    if (summary && Array.isArray(summary.instances)) {
      for (const x of summary.instances) if (typeof x?.instance === 'string' && typeof x.verdict?.kind === 'string') verdicts.set(x.instance, x.verdict.kind);
      return verdicts;
    }
  } catch {
    // Unreadable or not JSON: fall through to the per-instance files.
  }
  for (const id of ids) {
    try {
      const kind = (JSON.parse(readTextInside(dir, path.join(id, INSTANCE_FILES.verdict)) ?? 'null') as { kind?: unknown } | null)?.kind;
      if (typeof kind === 'string') verdicts.set(id, kind as VerdictKind);
    } catch {
      // Never judged, or a verdict kvm-farm cannot read: either way it did not pass.
    }
  }
  return verdicts;
}
