import { createHash } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CompileContext, CompileOutcome } from '../build/compile.js';
import { judgeBuild, pickBuildProblems } from '../build/parse-build.js';
import { BUILD_INTERRUPTED } from '../build/make.js';
import { commitEntry, ENTRY_FILES, makeTempDir, type EntryMeta } from '../build/store.js';
import { isHostError, type Host } from '../transport/index.js';
import { safeExtract } from './safe-extract.js';

/** The host's connection dropped during the build: the build goes to another host. */
export class BuildHostLost extends Error {}

export interface RemoteCompileInput {
  host: Host;
  /** `--remote-dir` there: builds/<key>/ is the make O= directory, kernels/ the boot image store. */
  remoteDir: string;
  /** The materialized source tree there. */
  tree: string;
  key: string;
  /** The .config configured here: the host builds exactly this. */
  dotConfig: string;
  context: CompileContext;
  /** make -j: the host's CPUs. */
  jobs: number;
  /** ccache is installed there: used when this machine's build uses it (it never changes the kernel, only how fast it comes). */
  ccache: boolean;
  /** Longest one build may take there. */
  timeoutMs: number;
}

const STEP_MS = 120_000;
/** Files a host sends back from a build, flat; anything else in its tarball is refused. */
const OUT_FILES = ['bzImage', 'Image', 'vmlinux', 'System.map', '.config', 'kernel.release', 'Make.out'];
const CPIO_NAME = 'kvmfarm-initramfs.cpio';

/**
 * Runs make in a fresh O= directory on the host. A fixed script: $1 tree, $2 build
 * directory, $3 boot image (relative), then make's own words. Whatever make did, the
 * files a cache entry holds are copied flat into out/ for the trip home.
 */
const MAKE_SCRIPT =
  't=$1; o=$2; img=$3; shift 3; cd "$o" || exit 1; ' +
  'env MAKEFLAGS= MFLAGS= MAKELEVEL= make -C "$t" O="$o" "$@" > Make.out 2>&1 < /dev/null; s=$?; ' +
  'mkdir -p out && cp Make.out out/ && cp .config out/ 2>/dev/null; ' +
  'if [ $s -eq 0 ]; then cp "$img" vmlinux System.map out/ 2>/dev/null; cp include/config/kernel.release out/ 2>/dev/null; fi; exit $s';

/**
 * Builds one configured kernel on a host and puts it in this machine's build cache
 * under `key`, as compileKernel would have: the same .config (the host's copy names
 * its own path of the same initramfs; that line is mapped back and every other line
 * must match), make's output judged by the same rules, a failure quoting make's lines.
 * The boot image also goes into the host's kernel store, so running it there ships nothing.
 */
export async function compileOnHost(input: RemoteCompileInput): Promise<CompileOutcome> {
  const { host, context } = input;
  const signal = context.signal ? { signal: context.signal } : {};
  const objDir = path.posix.join(input.remoteDir, 'builds', input.key.slice(0, 32));
  const cpioHere = initramfsPath(input.dotConfig);
  const cpioThere = path.posix.join(objDir, CPIO_NAME);
  const hostConfig = cpioHere ? withInitramfs(input.dotConfig, cpioThere) : input.dotConfig;
  const started = Date.now();
  let temp: string | undefined;
  try {
    await must(host.run(['sh', '-c', 'rm -rf -- "$1" && mkdir -p -- "$1"', 'sh', objDir], { timeoutMs: STEP_MS, ...signal }), 'make the build directory');
    await must(host.putStream(path.posix.join(objDir, '.config'), Buffer.from(hostConfig), { timeoutMs: STEP_MS, ...signal }), 'send .config');
    if (cpioHere) await must(host.putStream(cpioThere, await readFile(cpioHere), { timeoutMs: STEP_MS, ...signal }), 'send the initramfs');
    const make = await host.spawn(['sh', '-c', MAKE_SCRIPT, 'sh', input.tree, objDir, context.toolchain.bootImage, `-j${input.jobs}`, ...(input.ccache ? context.toolchain.makeArgs : context.toolchain.keyArgs)], { timeoutMs: input.timeoutMs, ...signal });
    make.stdin.end();
    make.stdout.resume();
    make.stderr.resume();
    const status = await make.exited;
    const makeMs = Date.now() - started;
    temp = await makeTempDir(context.layout, 'entry');
    // Plain names (not ./name): the unpacking accepts only the files it expects.
    const tar = await host.spawn(['sh', '-c', 'cd -- "$1" && exec tar -c -f - -- * .config', 'sh', path.posix.join(objDir, 'out')], { timeoutMs: STEP_MS, ...signal });
    tar.stdin.end();
    tar.stderr.resume();
    const [unpacked] = await Promise.all([
      safeExtract(tar.stdout, temp, { maxBytes: 4 * 1024 ** 3, maxEntries: 20, maxDepth: 1, accept: (rel) => OUT_FILES.includes(rel) }),
      tar.exited,
    ]);
    const makeOut = path.join(temp, ENTRY_FILES.makeOut);
    const outText = unpacked.written.includes(ENTRY_FILES.makeOut) ? await readFile(makeOut, 'utf8') : '';
    const problems = pickBuildProblems(outText);
    const judged = judgeBuild(status.exitCode ?? undefined, problems);
    const failure = (reason: string, quoted: string[]): CompileOutcome => ({ ok: false, reason, quoted, makeOut, dotConfig: input.dotConfig, warningCount: problems.warningCount });
    if (context.signal?.aborted) return failure(BUILD_INTERRUPTED, []);
    if (!unpacked.written.includes(ENTRY_FILES.makeOut)) await writeFile(makeOut, `kvm-farm: ${host.name} sent no Make.out\n`);
    if (judged.failed) {
      const why = status.exitCode !== 0 ? `make on ${host.name} exited with ${status.exitCode ?? status.signal}` : `make output on ${host.name} has errors or RCU warnings`;
      return failure(`kernel build failed: ${why}`, judged.quoted);
    }
    const bootImage = path.basename(context.toolchain.bootImage);
    for (const name of [bootImage, ENTRY_FILES.vmlinux, ENTRY_FILES.systemMap, ENTRY_FILES.dotConfig, ENTRY_FILES.release]) {
      if (!unpacked.written.includes(name)) return failure(`make on ${host.name} succeeded but sent no ${name}`, []);
    }
    const builtConfig = await readFile(path.join(temp, ENTRY_FILES.dotConfig), 'utf8');
    const mapped = cpioHere ? withInitramfs(builtConfig, cpioHere) : builtConfig;
    if (mapped !== input.dotConfig) {
      return failure(`the .config built on ${host.name} differs from the one configured here: ${firstDifference(input.dotConfig, mapped)}`, []);
    }
    await writeFile(path.join(temp, ENTRY_FILES.dotConfig), input.dotConfig);
    const kernelVersion = (await readFile(path.join(temp, ENTRY_FILES.release), 'utf8')).trim();
    const imageHash = createHash('sha256').update(await readFile(path.join(temp, bootImage))).digest('hex');
    // The builder keeps its kernel in its store: the run ships it nothing; the build directory goes.
    await host.run(['sh', '-c', 'mkdir -p -- "$1/kernels" && cp -- "$2/$3" "$1/kernels/$4.tmp" && mv -f -- "$1/kernels/$4.tmp" "$1/kernels/$4"; rm -rf -- "$2"', 'sh',
      input.remoteDir, objDir, context.toolchain.bootImage, imageHash], { timeoutMs: STEP_MS, ...signal });
    const meta: EntryMeta = { cacheKey: input.key, kernelVersion, bootImage, warningCount: problems.warningCount, makeMs, builtAt: new Date().toISOString() };
    await commitEntry(context.layout, temp, input.key, meta);
    temp = undefined;
    return { ok: true, meta, status: 'built' };
  } catch (error) {
    if (temp) await rm(temp, { recursive: true, force: true });
    if (isHostError(error) || (error as { code?: string }).code === 'KVMFARM_HOST_UNREACHABLE') throw new BuildHostLost(`${host.name}: ${(error as Error).message}`);
    throw error;
  }
}

async function must(result: Promise<{ exitCode: number | null; stderr: string }>, what: string): Promise<void> {
  const r = await result;
  if (r.exitCode !== 0) throw new Error(`could not ${what}: ${r.stderr.trim().split('\n')[0] ?? ''}`);
}

const INITRAMFS_LINE = /^CONFIG_INITRAMFS_SOURCE="(.*)"$/m;

function initramfsPath(dotConfig: string): string | undefined {
  const found = INITRAMFS_LINE.exec(dotConfig)?.[1];
  return found ? found : undefined;
}

function withInitramfs(dotConfig: string, file: string): string {
  return dotConfig.replace(INITRAMFS_LINE, `CONFIG_INITRAMFS_SOURCE=${JSON.stringify(file)}`);
}

function firstDifference(a: string, b: string): string {
  const x = a.split('\n');
  const y = b.split('\n');
  for (let i = 0; i < Math.max(x.length, y.length); i++) if (x[i] !== y[i]) return `line ${i + 1}: "${x[i] ?? ''}" here, "${y[i] ?? ''}" there`;
  return 'no line differs';
}
