import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import type { VerdictKind } from '../analyze/types.js';
import { parseQemuCmdFile } from '../qemu/index.js';
import type { QemuCommand } from '../qemu/types.js';
import type { RunSummary } from '../report/types.js';
import { readRunDir } from '../rundir/files.js';
import { INSTANCE_FILES, RUN_FILES } from '../rundir/layout.js';

/** One instance of an earlier run, as kvm-again finds it on disk. */
export interface SourceInstance {
  id: string;
  /** Batch number in the named run's `scenarios` file. */
  batch: number;
  /** The directory its kernel and build products come from: the original run's when it still exists. */
  kernelDir: string;
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
      const kernelDir = existsSync(fromOriginal) ? fromOriginal : path.join(run.dir, id);
      const cmdFile = path.join(run.dir, id, INSTANCE_FILES.qemuCmd);
      const command = existsSync(cmdFile) ? parseQemuCmdFile(readFileSync(cmdFile, 'utf8')) : undefined;
      const imageName = command ? path.basename(command.argv[command.argv.lastIndexOf('-kernel') + 1] ?? INSTANCE_FILES.bzImage) : INSTANCE_FILES.bzImage;
      const image = [path.join(kernelDir, imageName), path.join(run.dir, id, imageName)].find((f) => isFile(f));
      const verdict = verdicts.get(id);
      return {
        id,
        batch: index + 1,
        kernelDir: image ? path.dirname(image) : kernelDir,
        ...(image ? { kernelImage: realpathSync(image) } : {}),
        ...(command ? { command } : {}),
        ...(verdict ? { verdict } : {}),
      };
    }),
  );
  return { dir: run.dir, original, suite: run.suite, instances };
}

/** Follows `re-run` files back to the run that built the kernels (bounded, in case of a loop). */
function originalRun(dir: string): string {
  let current = dir;
  for (let hops = 0; hops < 64; hops++) {
    const marker = path.join(current, RUN_FILES.reRun);
    if (!existsSync(marker)) return current;
    const named = readFileSync(marker, 'utf8').split('\n')[0]!.trim();
    const next = path.resolve(current, named);
    if (next === current || !existsSync(next) || !statSync(next).isDirectory()) return current;
    current = next;
  }
  return current;
}

/** Verdicts from summary.json, or from each instance's verdict.json when the summary is missing. */
function readVerdicts(dir: string, ids: string[]): Map<string, VerdictKind> {
  const verdicts = new Map<string, VerdictKind>();
  const summaryFile = path.join(dir, RUN_FILES.summary);
  if (existsSync(summaryFile)) {
    try {
      const summary = JSON.parse(readFileSync(summaryFile, 'utf8')) as RunSummary;
      for (const x of summary.instances) if (x.verdict) verdicts.set(x.instance, x.verdict.kind);
      return verdicts;
    } catch {
      // Fall through to the per-instance files.
    }
  }
  for (const id of ids) {
    const file = path.join(dir, id, INSTANCE_FILES.verdict);
    try {
      verdicts.set(id, (JSON.parse(readFileSync(file, 'utf8')) as { kind: VerdictKind }).kind);
    } catch {
      // Never judged.
    }
  }
  return verdicts;
}

function isFile(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}
