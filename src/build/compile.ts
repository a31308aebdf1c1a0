import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buildDirKey } from './cache-key.js';
import type { KernelTree } from './kernel-tree.js';
import { BUILD_INTERRUPTED, runMake, type Toolchain } from './make.js';
import { judgeBuild, pickBuildProblems } from './parse-build.js';
import { commitEntry, ENTRY_FILES, makeTempDir, withDirLock, type BuildCacheLayout, type EntryMeta } from './store.js';

export interface CompileContext {
  tree: KernelTree;
  layout: BuildCacheLayout;
  toolchain: Toolchain;
  jobs: number;
  trustMake: boolean;
  signal?: AbortSignal;
}

export type CompileOutcome =
  | { ok: true; meta: EntryMeta; status: 'built' }
  | { ok: false; reason: string; quoted: string[]; makeOut?: string; dotConfig: string; warningCount: number };

/**
 * Compiles one configuration in its own `make O=` directory and, on success, moves the
 * kernel files into the cache under `key`. The build directory outlives the call, so a
 * later build of the same config after a source change is incremental with trustMake.
 * A failed build's Make.out stays in a directory under the cache's tmp for the caller to
 * copy out and remove.
 */
export async function compileKernel(
  context: CompileContext,
  key: string,
  dotConfig: string,
  onProgress: (line: string) => void,
): Promise<CompileOutcome> {
  const { layout, toolchain } = context;
  const objDir = path.join(layout.objects, buildDirKey(context.tree.dir, dotConfig, toolchain.keyArgs, toolchain.arch).slice(0, 32));
  return withDirLock(objDir, async () => {
    const reused = existsSync(path.join(objDir, 'Makefile'));
    await mkdir(objDir, { recursive: true });
    const temp = await makeTempDir(layout, 'entry');
    const make = (args: string[], logFile: string, progress?: (line: string) => void) =>
      runMake({
        kernelDir: context.tree.dir,
        buildDir: objDir,
        args: [...toolchain.makeArgs, ...args],
        logFile,
        signal: context.signal,
        ...(progress ? { onProgress: progress } : {}),
      });
    if (reused && !context.trustMake) {
      // As rcutorture does without --trust-make: objects from an earlier build are not trusted.
      await make(['clean'], path.join(temp, 'Make.clean.out'));
    }
    const configFile = path.join(objDir, '.config');
    if (!existsSync(configFile) || (await readFile(configFile, 'utf8')) !== dotConfig) {
      await writeFile(configFile, dotConfig);
    }
    const makeOut = path.join(temp, ENTRY_FILES.makeOut);
    const run = await make([`-j${context.jobs}`], makeOut, onProgress);
    const problems = pickBuildProblems(await readFile(makeOut, 'utf8'));
    const judged = judgeBuild(run.exitCode, problems);
    const failure = (reason: string, quoted: string[]) => ({
      ok: false as const,
      reason,
      quoted,
      makeOut,
      dotConfig,
      warningCount: problems.warningCount,
    });
    if (run.aborted) return failure(BUILD_INTERRUPTED, []);
    if (judged.failed) {
      const why = run.exitCode !== 0 ? `make exited with ${run.exitCode}` : 'make output has errors or RCU warnings';
      return failure(`kernel build failed: ${why}`, judged.quoted);
    }
    const bootImage = path.basename(toolchain.bootImage);
    const wanted: [string, string][] = [
      [toolchain.bootImage, bootImage],
      ['vmlinux', ENTRY_FILES.vmlinux],
      ['System.map', ENTRY_FILES.systemMap],
      ['.config', ENTRY_FILES.dotConfig],
      ['include/config/kernel.release', ENTRY_FILES.release],
    ];
    for (const [from, to] of wanted) {
      if (!existsSync(path.join(objDir, from))) return failure(`make succeeded but left no ${from} in ${objDir}`, []);
      await copyFile(path.join(objDir, from), path.join(temp, to));
    }
    const kernelVersion = (await readFile(path.join(temp, ENTRY_FILES.release), 'utf8')).trim();
    const meta: EntryMeta = {
      cacheKey: key,
      kernelVersion,
      bootImage,
      warningCount: problems.warningCount,
      makeMs: run.durationMs,
      builtAt: new Date().toISOString(),
    };
    await commitEntry(layout, temp, key, meta);
    return { ok: true as const, meta, status: 'built' as const };
  });
}
