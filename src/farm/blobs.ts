import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { printable } from '../util/printable.js';
import { KvmFarmError } from '../util/errors.js';
import type { QemuCommand } from '../qemu/types.js';

/** A file a guest boots from (kernel, initrd), named by its content. */
export interface Blob {
  hash: string;
  localPath: string;
  size: number;
}

/** The qemu flags whose value is a file the host must hold. */
export const BLOB_FLAGS = ['-kernel', '-initrd'] as const;

/** Hashes each file once, however many instances boot it (3*UP01 share one kernel). */
export class BlobIndex {
  private readonly byPath = new Map<string, Promise<Blob>>();

  async ofFile(localPath: string): Promise<Blob> {
    let blob = this.byPath.get(localPath);
    if (!blob) {
      blob = hashFile(localPath);
      this.byPath.set(localPath, blob);
    }
    return blob;
  }

  /** The blobs one command needs, by flag. */
  async ofCommand(command: QemuCommand): Promise<Map<string, Blob>> {
    const found = new Map<string, Blob>();
    for (const flag of BLOB_FLAGS) {
      const at = command.argv.lastIndexOf(flag);
      const file = at >= 0 ? command.argv[at + 1] : undefined;
      if (file !== undefined) found.set(flag, await this.ofFile(file));
    }
    return found;
  }
}

/**
 * Hashes a kernel the new run directory holds (placed there by kvm-again from
 * regular files only). It is opened without blocking and checked on the
 * descriptor to be a regular file, so nothing else is ever hashed or shipped.
 */
async function hashFile(localPath: string): Promise<Blob> {
  const handle = await open(localPath, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new KvmFarmError('KVMFARM_UNSAFE_FILE', `${printable(localPath)} is not a regular file; it is not shipped`);
    const hash = createHash('sha256');
    for await (const chunk of handle.createReadStream({ start: 0, end: Math.max(0, info.size - 1), autoClose: false })) hash.update(chunk as Buffer);
    return { hash: hash.digest('hex'), localPath, size: info.size };
  } finally {
    await handle.close();
  }
}

/** Each blob once, however many instances boot it. */
export async function uniqueBlobs(lists: Promise<Map<string, Blob>>[]): Promise<Blob[]> {
  const byHash = new Map<string, Blob>();
  for (const found of await Promise.all(lists)) for (const blob of found.values()) byHash.set(blob.hash, blob);
  return [...byHash.values()];
}
