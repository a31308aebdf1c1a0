import type { KconfigSetting, Scenario } from '../scenarios/types.js';
import type { TortureSuite } from '../scenarios/suites.js';
import type { ConfigMismatch } from './config.js';
import type { CompileContext, CompileOutcome } from './compile.js';

/** One scenario instance that needs a kernel, and where its files go. */
export interface BuildInstance {
  /** Instance name (`TINY01`, `TINY01.2`). */
  id: string;
  scenario: Scenario;
  /** The instance's directory in the run directory; created if missing. */
  outDir: string;
}

/** Whether ccache wraps the compiler: `auto` uses it when installed; `on` requires it. */
export type CcacheMode = 'auto' | 'on' | 'off';

export interface BuildOptions {
  /** Top of the kernel source tree. It is never written to: builds go to `make O=` directories in the cache. */
  kernelDir: string;
  /** The instances to build kernels for; instances whose effective configs are identical share one build. */
  instances: BuildInstance[];
  /** Settings of the scenario library's CFcommon, applied before each scenario's own. */
  cfcommon: KconfigSetting[];
  /** The torture suite: a kernel whose .config lacks `suite.kconfigOption=y` is not built. */
  suite: TortureSuite;
  /** The make target that gives the base config (`defconfig`, `tinyconfig`...) for scenarios without a `#BASE#` line. Default `defconfig`. */
  defconfig?: string;
  /** `--kconfig` settings, applied after the scenario's. */
  kconfig?: KconfigSetting[];
  /** `#CHECK#` entries of `--kconfig`: checked in every built .config, never applied. */
  kconfigChecks?: KconfigSetting[];
  /** Add rcutorture's debug-info settings (`--debug-info`, `--gdb`). */
  debugInfo?: boolean;
  /** Add rcutorture's `--kasan` settings. */
  kasan?: boolean;
  /** Add rcutorture's `--kcsan` settings. */
  kcsan?: boolean;
  /** make's `-j`. Builds run one at a time, each with this many jobs. */
  jobs: number;
  /** Extra make arguments, one word each (`CC=clang`, `ARCH=x86_64`, `LLVM=1`). Part of the cache key. */
  kmakeArgs?: string[];
  /**
   * Trust make's dependency tracking: reuse a configuration's build directory as it is.
   * Without it, a build directory left by an earlier build is `make clean`ed first, as
   * rcutorture does, so only ccache speeds up a rebuild after a source change.
   */
  trustMake?: boolean;
  /** Wrap the compiler in ccache (`CC="ccache gcc"`). It changes make's arguments but never the cache key. Default `auto`. */
  ccache?: CcacheMode;
  /** Cache root; default `$KVM_FARM_CACHE`, else `~/.cache/kvm-farm`. Builds live under `<root>/build/`. */
  cacheDir?: string;
  /** Receives progress events; nothing else is printed. */
  reporter?: BuildReporter;
  /** Aborts running make processes; the build in progress leaves no cache entry. */
  signal?: AbortSignal;
  /**
   * Compiles a configured kernel elsewhere (kvm-remote's hosts) and commits it to the
   * cache under its key, as compileKernel does here. With it, builds run side by side.
   */
  compiler?: KernelCompiler;
  /**
   * Told of each kernel as soon as its files are in its instances' directories (or its
   * build failed), before the other kernels are done: kvm-remote starts their guests.
   */
  onBuilt?: (results: KernelBuildResult[]) => Promise<void> | void;
}

/** One configured kernel to compile; the outcome has compileKernel's shape. */
export type KernelCompiler = (job: { key: string; dotConfig: string; label: string; context: CompileContext; onProgress: (line: string) => void }) => Promise<CompileOutcome>;

/**
 * - `built`: compiled in this call.
 * - `cached`: the same inputs were built before; nothing compiled.
 * - `deduplicated`: another instance of this call has the same effective config and cache key; its kernel is shared.
 * - `build-failed`: configuration or make failed; see `failure`.
 */
export type BuildStatus = 'built' | 'cached' | 'deduplicated' | 'build-failed';

/** One record per instance, the same fields whether its build succeeded or failed. */
export interface KernelBuildResult {
  /** Instance id. */
  instance: string;
  status: BuildStatus;
  /** The boot image in the instance's directory (`bzImage` on x86). */
  kernelImage?: string;
  /** vmlinux in the instance's directory. */
  vmlinux?: string;
  /** The initramfs (a newc cpio) built into the kernel through CONFIG_INITRAMFS_SOURCE; also usable with qemu's -initrd. */
  initramfs: string;
  /** `make kernelrelease` of the build (`6.1.192`): the console's "Linux version" should name it. */
  kernelVersion?: string;
  /** Requested settings and #CHECK# lines that the resulting .config does not have. */
  configMismatches: ConfigMismatch[];
  /** Why the kernel could not be built, with at most 20 lines of make output quoted. */
  failure?: { reason: string; quoted: string[] };
  /** Total warning lines in Make.out. */
  warningCount: number;
  /** Time from the start of this instance's configuration to its files being in place. */
  durationMs: number;
  /** When its configuration started (ISO time), for the report's timeline. */
  startedAt?: string;
  /** Time spent in make's compile step; 0 when cached or deduplicated. */
  makeMs: number;
  /** sha256 of tree identity, .config text, make arguments, compiler and arch; '' when configuration failed. */
  cacheKey: string;
}

export type BuildPhase = 'configure' | 'check' | 'make' | 'link' | 'done';

/** One step of one build (a build serves every instance that shares its effective config). */
export interface BuildEvent {
  /** Short name of the build: its first instance, plus how many share it (`TINY01 +2`). */
  label: string;
  /** The instances this build serves. */
  instances: string[];
  phase: BuildPhase;
  /** Milliseconds since this build started. */
  elapsedMs: number;
  /** With `done`: how it ended. */
  status?: BuildStatus;
  /** With `make`: the latest line of make's output; with `done` on failure: the reason. */
  detail?: string;
}

/**
 * Receives build progress. Give `event` for structured events, or `line` for ready-made
 * one-line descriptions of each phase change (make's progress lines are not sent to it).
 */
export interface BuildReporter {
  event?(event: BuildEvent): void;
  line?(text: string): void;
  /** Called once when buildKernels returns or throws. */
  close?(): void;
}
