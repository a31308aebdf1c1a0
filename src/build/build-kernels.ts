/**
 * The build stage, start to end. Decisions worth knowing:
 *
 * - Out of tree only: every configuration and build is `make -C <tree> O=<dir>`, so the
 *   source tree is never written (a tree with its own .config is refused, as kbuild would).
 * - Configuration runs in a scratch O= directory: base target, settings put in, `make
 *   olddefconfig`. The resulting .config is memoized by its inputs, so an unchanged
 *   scenario costs no kconfig run next time.
 * - Cache root (`$KVM_FARM_CACHE` or ~/.cache/kvm-farm) holds build/objects/<hash> (one
 *   make O= directory per tree and effective config), build/kernels/<cache key> (finished
 *   kernels, moved in by rename), build/initramfs, build/config-memo, build/tree-ids.
 * - The cache key covers tree identity, .config text, the user's make arguments, compiler
 *   version, arch and the initramfs content; ccache and -j are left out.
 * - The initramfs is built into the kernel with CONFIG_INITRAMFS_SOURCE, as rcutorture
 *   does, so bzImage alone boots and a run directory needs nothing else. Its path is
 *   still reported (it also works as qemu's -initrd).
 * - Without trustMake a reused build directory is `make clean`ed first, as rcutorture
 *   does; since each directory only ever sees one .config, trustMake is safe to use and
 *   makes rebuilds after a source edit incremental.
 * - Builds here run one at a time, each with -j<jobs>: parallel builds were not measured.
 *   With `compiler` (the farm's hosts) builds run side by side, configurations still one at a time.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { KvmFarmError } from '../util/errors.js';
import { cacheKey, configMemoKey } from './cache-key.js';
import {
  checkConfig,
  configLayers,
  formatConfigFragment,
  formatConfigFragmentInput,
  formatMismatches,
  mergeLayers,
  parseDotConfig,
  type ConfigMismatch,
} from './config.js';
import { configure } from './configure.js';
import { ensureInitramfs } from './initramfs.js';
import { resolveKernelTree, treeIdentity } from './kernel-tree.js';
import { compileKernel, type CompileContext } from './compile.js';
import { BUILD_INTERRUPTED, resolveToolchain } from './make.js';
import { describeBuildEvent } from './reporter.js';
import { cacheLayout, ENTRY_FILES, entryDir, linkOrCopy, makeTempDir, readEntry, sweepTemp, type EntryMeta } from './store.js';
import type { BuildEvent, BuildInstance, BuildOptions, KernelBuildResult } from './types.js';

/** One instance with its settings worked out. */
interface PlannedInstance {
  instance: BuildInstance;
  settings: ReturnType<typeof mergeLayers>;
  /** The base config target: the scenario's #BASE#, else options.defconfig, else `defconfig`. */
  defconfig: string;
  fragmentInput: string;
}

type Outcome =
  | { ok: true; meta: EntryMeta; status: 'built' | 'cached' }
  | { ok: false; reason: string; quoted: string[]; makeOut?: string; dotConfig?: string; warningCount: number };

/**
 * Builds one kernel per distinct effective config among `options.instances` and puts
 * each instance's kernel files in its directory. Configurations and builds run one at
 * a time, each make with `options.jobs` jobs. A failed configuration or build is
 * reported in that instance's result and the others go on; only setup problems (no
 * kernel tree, no compiler, ccache required but missing) throw.
 */
export async function buildKernels(options: BuildOptions): Promise<KernelBuildResult[]> {
  try {
    return await buildAll(options);
  } finally {
    options.reporter?.close?.();
  }
}

async function buildAll(options: BuildOptions): Promise<KernelBuildResult[]> {
  if (!Number.isInteger(options.jobs) || options.jobs < 1) {
    throw new KvmFarmError('KVMFARM_BAD_ARGUMENT', `jobs must be a whole number of at least 1, not ${options.jobs}`);
  }
  const tree = resolveKernelTree(options.kernelDir);
  if (existsSync(path.join(tree.dir, '.config')) || existsSync(path.join(tree.dir, 'include', 'config'))) {
    throw new KvmFarmError(
      'KVMFARM_BUILD_SETUP',
      `${tree.dir} has been built in (it has a .config or include/config), so out-of-tree builds refuse it: run \`make mrproper\` there`,
    );
  }
  const layout = cacheLayout(options.cacheDir);
  await sweepTemp(layout);
  const toolchain = await resolveToolchain(options.kmakeArgs ?? [], options.ccache ?? 'auto');
  const initramfs = await ensureInitramfs(layout.initramfs);
  const identity = await treeIdentity(tree, layout.treeIds);
  const farmSettings = [
    { option: 'CONFIG_BLK_DEV_INITRD', value: 'y', origin: 'kvm-farm' },
    { option: 'CONFIG_INITRAMFS_SOURCE', value: JSON.stringify(initramfs.cpio), origin: 'kvm-farm' },
  ];

  const groups = new Map<string, PlannedInstance[]>();
  for (const instance of options.instances) {
    const layers = configLayers({
      cfcommon: options.cfcommon,
      scenarioName: instance.scenario.name,
      scenario: instance.scenario.settings,
      kconfig: options.kconfig ?? [],
      kasan: options.kasan ?? false,
      kcsan: options.kcsan ?? false,
      debugInfo: options.debugInfo ?? false,
      farm: farmSettings,
    });
    const settings = mergeLayers(layers);
    const defconfig = instance.scenario.base ?? options.defconfig ?? 'defconfig';
    const memoKey = configMemoKey({
      treeIdentity: identity.id,
      defconfig,
      fragment: formatConfigFragment(settings),
      makeArgs: toolchain.keyArgs,
      compiler: toolchain.compiler,
      arch: toolchain.arch,
    });
    const planned = { instance, settings, defconfig, fragmentInput: formatConfigFragmentInput(layers) };
    groups.set(memoKey, [...(groups.get(memoKey) ?? []), planned]);
  }

  const results = new Map<string, KernelBuildResult>();
  const outcomes = new Map<string, Outcome>();
  const scratchDir = await makeTempDir(layout, 'configure');
  const context: CompileContext = { tree, layout, toolchain, jobs: options.jobs, trustMake: options.trustMake ?? false, signal: options.signal };
  // Configurations share one scratch directory: one at a time, also when builds run side by side.
  let configuring: Promise<unknown> = Promise.resolve();
  const inFlight = new Map<string, Promise<Outcome>>();
  const buildGroup = async ([memoKey, group]: [string, PlannedInstance[]]): Promise<void> => {
      const started = Date.now();
      const ids = group.map((p) => p.instance.id);
      const label = ids.length > 1 ? `${ids[0]} +${ids.length - 1}` : ids[0]!;
      const report = (event: Omit<BuildEvent, 'label' | 'instances' | 'elapsedMs'>) => {
        const full = { label, instances: ids, elapsedMs: Date.now() - started, ...event };
        options.reporter?.event?.(full);
        if (event.detail === undefined || event.phase !== 'make') options.reporter?.line?.(`build ${describeBuildEvent(full)}`);
      };
      for (const p of group) await writeFragmentFiles(p);

      report({ phase: 'configure' });
      const configuredP = configuring.then(() => options.signal?.aborted
        ? { ok: false as const, reason: BUILD_INTERRUPTED, quoted: [] }
        : configure({
            kernelDir: tree.dir,
            scratchDir,
            defconfig: group[0]!.defconfig,
            settings: group[0]!.settings,
            makeArgs: toolchain.makeArgs,
            memoFile: path.join(layout.configMemo, `${memoKey}.config`),
            signal: options.signal,
          }));
      configuring = configuredP.catch(() => undefined);
      const configured = await configuredP;

      report({ phase: 'check' });
      let key = '';
      let outcome: Outcome;
      let deduplicated = false;
      const mismatches = new Map<string, ConfigMismatch[]>();
      if (!configured.ok) {
        outcome = { ok: false, reason: configured.reason, quoted: configured.quoted, warningCount: 0 };
      } else {
        const dot = parseDotConfig(configured.dotConfig);
        for (const p of group) {
          const found = checkConfig(p.settings, [...p.instance.scenario.checks, ...(options.kconfigChecks ?? [])], dot);
          mismatches.set(p.instance.id, found);
          const diags = path.join(p.instance.outDir, 'ConfigFragment.diags');
          if (found.length > 0) await writeFile(diags, formatMismatches(found));
          else await rm(diags, { force: true });
        }
        const suiteValue = dot.get(options.suite.kconfigOption);
        key = cacheKey({
          treeIdentity: identity.id,
          dotConfig: configured.dotConfig,
          makeArgs: toolchain.keyArgs,
          compiler: toolchain.compiler,
          arch: toolchain.arch,
          initramfsDigest: initramfs.digest,
        });
        const earlier = inFlight.get(key);
        if (suiteValue !== 'y') {
          outcome = {
            ok: false,
            reason: `${options.suite.kconfigOption} is ${suiteValue === undefined ? 'absent' : `=${suiteValue}`} in the configured .config, so the ${options.suite.name} torture test would not be built in: enable what it depends on (see ConfigFragment.diags)`,
            quoted: [],
            dotConfig: configured.dotConfig,
            warningCount: 0,
          };
        } else if (earlier) {
          outcome = await earlier;
          deduplicated = true;
        } else {
          const dotConfig = configured.dotConfig;
          const making = (async (): Promise<Outcome> => {
            const meta = await readEntry(layout, key);
            if (meta) return { ok: true, meta, status: 'cached' };
            report({ phase: 'make' });
            const onLine = (line: string) => report({ phase: 'make', detail: line });
            return options.compiler
              ? options.compiler({ key, dotConfig, label, context, onProgress: onLine })
              : compileKernel(context, key, dotConfig, onLine);
          })();
          inFlight.set(key, making);
          outcome = await making;
        }
        outcomes.set(key, outcome);
      }

      report({ phase: 'link' });
      for (const p of group) {
        const result = await placeFiles(p, outcome, layout, key, initramfs.cpio);
        result.configMismatches = mismatches.get(p.instance.id) ?? [];
        if (result.status !== 'build-failed' && (deduplicated || p !== group[0])) {
          result.status = 'deduplicated';
          result.makeMs = 0;
        }
        result.durationMs = Date.now() - started;
        result.startedAt = new Date(started).toISOString();
        results.set(p.instance.id, result);
      }
      const first = results.get(group[0]!.instance.id)!;
      report({ phase: 'done', status: first.status, detail: first.failure?.reason });
      await options.onBuilt?.(group.map((p) => results.get(p.instance.id)!));
  };
  try {
    // A compiler elsewhere (the farm's hosts) takes several builds at once; here they run one at a time.
    if (options.compiler) await Promise.all([...groups].map(buildGroup));
    else for (const entry of groups) await buildGroup(entry);
  } finally {
    await rm(scratchDir, { recursive: true, force: true });
    for (const outcome of outcomes.values()) {
      if (!outcome.ok && outcome.makeOut !== undefined) await rm(path.dirname(outcome.makeOut), { recursive: true, force: true });
    }
  }
  return options.instances.map((instance) => results.get(instance.id)!);
}

async function writeFragmentFiles(p: PlannedInstance): Promise<void> {
  await mkdir(p.instance.outDir, { recursive: true });
  await writeFile(path.join(p.instance.outDir, 'ConfigFragment'), formatConfigFragment(p.settings));
  await writeFile(path.join(p.instance.outDir, 'ConfigFragment.input'), p.fragmentInput);
  // The kernel's kvm-recheck.sh finds a run's scenario directories by this file.
  await writeFile(
    path.join(p.instance.outDir, 'Make.defconfig.out'),
    `make ${p.defconfig}, then ConfigFragment, then make olddefconfig (kvm-farm keeps kconfig's output in its config cache)\n`,
  );
}

/** Links a cache entry's files into the instance directory, or leaves the failed build's Make.out and .config there. */
async function placeFiles(
  p: PlannedInstance,
  outcome: Outcome,
  layout: ReturnType<typeof cacheLayout>,
  key: string,
  initramfs: string,
): Promise<KernelBuildResult> {
  const out = p.instance.outDir;
  const base = { instance: p.instance.id, initramfs, configMismatches: [], durationMs: 0, cacheKey: key };
  if (!outcome.ok) {
    if (outcome.makeOut !== undefined) await copyFile(outcome.makeOut, path.join(out, ENTRY_FILES.makeOut));
    if (outcome.dotConfig !== undefined) await writeFile(path.join(out, ENTRY_FILES.dotConfig), outcome.dotConfig);
    return {
      ...base,
      status: 'build-failed',
      failure: { reason: outcome.reason, quoted: outcome.quoted },
      warningCount: outcome.warningCount,
      makeMs: 0,
    };
  }
  const entry = entryDir(layout, key);
  const names = [outcome.meta.bootImage, ENTRY_FILES.vmlinux, ENTRY_FILES.dotConfig, ENTRY_FILES.systemMap, ENTRY_FILES.makeOut];
  for (const name of new Set(names)) {
    if (existsSync(path.join(entry, name))) await linkOrCopy(path.join(entry, name), path.join(out, name));
  }
  await writeFile(path.join(out, 'builtkernel'), '');
  return {
    ...base,
    status: outcome.status,
    kernelImage: path.join(out, outcome.meta.bootImage),
    vmlinux: path.join(out, ENTRY_FILES.vmlinux),
    kernelVersion: outcome.meta.kernelVersion,
    warningCount: outcome.meta.warningCount,
    makeMs: outcome.status === 'built' ? outcome.meta.makeMs : 0,
  };
}
