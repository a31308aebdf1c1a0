import { open } from 'node:fs/promises';

/**
 * What identifies one particular kernel build: its release (`6.1.192`) and its
 * version string (`#1 SMP PREEMPT Sat Nov 21 19:32:17 UTC 2026`), which carries
 * the build number and time. Two builds of the same source differ in the latter,
 * so a guest that boots a stale or swapped image is caught even when the
 * release is the same.
 */
export interface KernelBanner {
  release: string;
  /** `(user@host)`, as the console banner shows it. */
  builtBy: string;
  version: string;
}

/** Parses `6.1.192 (root@vm) #1 SMP PREEMPT Sat Nov 21 ...`, as an x86 boot image's header holds it. */
export function parseImageVersion(text: string): KernelBanner | undefined {
  const match = /^(\S+) (\([^)]*\)) (#.*)$/.exec(text.trim());
  return match ? { release: match[1]!, builtBy: match[2]!, version: match[3]!.trim() } : undefined;
}

/**
 * Whether a console's `Linux version ...` line is the banner of this build. The
 * console line puts the compiler between builder and version, so the parts are
 * matched, not the whole line.
 */
export function bannerMatches(banner: KernelBanner, consoleLine: string): boolean {
  const at = consoleLine.indexOf('Linux version ');
  if (at < 0) return false;
  const rest = consoleLine.slice(at + 'Linux version '.length).trim();
  return rest.startsWith(`${banner.release} ${banner.builtBy}`) && rest.endsWith(banner.version);
}

export function formatBanner(banner: KernelBanner): string {
  return `${banner.release} ${banner.builtBy} ${banner.version}`;
}

/**
 * Reads the version string from an x86 bzImage's setup header (the `HdrS` magic at
 * 0x202, the string's offset at 0x20e), without decompressing anything.
 */
export async function readBzImageBanner(imagePath: string): Promise<KernelBanner | undefined> {
  const file = await open(imagePath, 'r');
  try {
    const header = Buffer.alloc(0x210);
    await file.read(header, 0, header.length, 0);
    if (header.toString('latin1', 0x202, 0x206) !== 'HdrS') return undefined;
    const offset = header.readUInt16LE(0x20e) + 0x200;
    const text = Buffer.alloc(256);
    const { bytesRead } = await file.read(text, 0, text.length, offset);
    const end = text.subarray(0, bytesRead).indexOf(0);
    return parseImageVersion(text.toString('latin1', 0, end < 0 ? bytesRead : end));
  } finally {
    await file.close();
  }
}
