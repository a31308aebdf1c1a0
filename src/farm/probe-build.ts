import type { Host } from '../transport/index.js';

/** Whether a host can build kernels, and with which compiler. */
export interface BuildProbe {
  /** Every tool and header a kernel build needs is there, and the disk has room. */
  canBuild: boolean;
  /** Why not, in one line naming what to install; empty when it can. */
  why: string;
  /** First line of `<CC> --version` there; empty when the compiler does not run. */
  compiler: string;
  cpus: number;
  freeBytes: number;
  /** ccache is installed there: a build here that uses it uses it there too. */
  ccache: boolean;
}

/** Room a build directory needs besides the tree (a defconfig build takes ~1.5 GB with vmlinux; tinyconfig far less). */
export const BUILD_MIN_FREE_BYTES = 3 * 1024 ** 3;

/**
 * One exec that reports, a line each, what a kernel build needs: the tools (make,
 * the compiler, flex, bison, bc, perl), the headers objtool and certificate tools
 * include (libelf's gelf.h, openssl), the compiler's version, CPUs, ccache and free disk.
 * A fixed script: $1 the compiler command (one word), $2 the directory to measure.
 */
const PROBE_BUILD =
  'cc=$1; for t in make "$cc" flex bison bc perl; do command -v "$t" >/dev/null 2>&1 || echo "missing=$t"; done; ' +
  'for h in gelf.h openssl/opensslv.h; do printf "#include <%s>\\n" "$h" | "$cc" -E -x c - >/dev/null 2>&1 || echo "missing=$h"; done; ' +
  'echo "compiler=$("$cc" --version 2>/dev/null | head -n 1)"; echo "cpus=$(nproc)"; ' +
  'if command -v ccache >/dev/null 2>&1; then echo ccache=yes; else echo ccache=no; fi; ' +
  'mkdir -p -- "$2" && echo "free=$(df -Pk -- "$2" | awk \'NR==2 {print $4}\')"';

const HEADER_PACKAGES: Record<string, string> = { 'gelf.h': 'libelf-dev', 'openssl/opensslv.h': 'libssl-dev' };

/** Asks a host whether it can build kernels. Never throws for a missing tool: the host then only runs guests. */
export async function probeBuild(host: Host, options: { compiler: string; remoteDir: string; signal?: AbortSignal }): Promise<BuildProbe> {
  const result = await host.run(['sh', '-c', PROBE_BUILD, 'sh', options.compiler, options.remoteDir], { timeoutMs: 30_000, ...(options.signal ? { signal: options.signal } : {}) });
  return readBuildProbe(result.stdout, result.exitCode);
}

/** Pure: the probe's output lines to a verdict. */
export function readBuildProbe(stdout: string, exitCode: number | null): BuildProbe {
  const lines = stdout.split('\n');
  const value = (key: string): string => lines.find((l) => l.startsWith(`${key}=`))?.slice(key.length + 1).trim() ?? '';
  const missing = lines.filter((l) => l.startsWith('missing=')).map((l) => l.slice('missing='.length).trim());
  const cpus = Number(value('cpus'));
  const freeBytes = Number(value('free')) * 1024;
  const problems: string[] = [];
  if (missing.length > 0) problems.push(`install ${missing.map((m) => HEADER_PACKAGES[m] ? `${HEADER_PACKAGES[m]} (${m})` : m).join(', ')}`);
  if (exitCode !== 0) problems.push(`the build probe ended with ${exitCode}`);
  if (!(freeBytes >= BUILD_MIN_FREE_BYTES)) problems.push(`only ${Number.isFinite(freeBytes) ? (freeBytes / 1024 ** 3).toFixed(1) : '?'} GB free, a build needs ${BUILD_MIN_FREE_BYTES / 1024 ** 3} GB`);
  return {
    canBuild: problems.length === 0 && Number.isInteger(cpus) && cpus > 0,
    why: problems.join('; '),
    compiler: value('compiler'),
    cpus: Number.isInteger(cpus) && cpus > 0 ? cpus : 1,
    freeBytes: Number.isFinite(freeBytes) ? freeBytes : 0,
    ccache: value('ccache') === 'yes',
  };
}
