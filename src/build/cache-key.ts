import { createHash } from 'node:crypto';

/** Everything a built kernel depends on. ccache is deliberately absent: it never changes the output. */
export interface CacheKeyInput {
  /** From treeIdentity(). */
  treeIdentity: string;
  /** The full .config after `make olddefconfig`. */
  dotConfig: string;
  /** The user's make arguments, without kvm-farm's ccache wrapper and without -j. */
  makeArgs: string[];
  /** First line of `<CC> --version`. */
  compiler: string;
  /** Kernel ARCH (`x86`, `arm64`). */
  arch: string;
  /** sha256 of the initramfs that CONFIG_INITRAMFS_SOURCE names: its content is built in, the path alone is not enough. */
  initramfsDigest: string;
}

/** sha256 over each field, length-prefixed so that no two different inputs give the same text. */
export function cacheKey(input: CacheKeyInput): string {
  return hashFields('kvm-farm-kernel-v1', [
    input.treeIdentity,
    input.dotConfig,
    JSON.stringify(input.makeArgs),
    input.compiler,
    input.arch,
    input.initramfsDigest,
  ]);
}

/** Key of a configuration's inputs: the same inputs always configure to the same .config. */
export interface ConfigMemoInput {
  treeIdentity: string;
  /** Base config target. */
  defconfig: string;
  /** ConfigFragment text (the merged settings). */
  fragment: string;
  makeArgs: string[];
  compiler: string;
  arch: string;
}

export function configMemoKey(input: ConfigMemoInput): string {
  return hashFields('kvm-farm-config-v1', [
    input.treeIdentity,
    input.defconfig,
    input.fragment,
    JSON.stringify(input.makeArgs),
    input.compiler,
    input.arch,
  ]);
}

/** Key of a build directory: one per tree and effective config, so objects are reused only for the same config. */
export function buildDirKey(treeDir: string, dotConfig: string, makeArgs: string[], arch: string): string {
  return hashFields('kvm-farm-objdir-v1', [treeDir, dotConfig, JSON.stringify(makeArgs), arch]);
}

function hashFields(tag: string, fields: string[]): string {
  const hash = createHash('sha256').update(`${tag}\n`);
  for (const field of fields) hash.update(`${Buffer.byteLength(field)}:`).update(field).update('\n');
  return hash.digest('hex');
}
