import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
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

async function hashFile(localPath: string): Promise<Blob> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(localPath)) hash.update(chunk as Buffer);
  return { hash: hash.digest('hex'), localPath, size: (await stat(localPath)).size };
}
