import { open, stat, type FileHandle } from 'node:fs/promises';
import { KernelOutputScan } from './kernel-output.js';

/** Stop scanning for the kernel's first line after this much firmware chatter. */
const SCAN_LIMIT = 4 * 1024 * 1024;

/** Follows a growing console file: its size, and whether a kernel has printed yet. */
export class ConsoleWatch {
  size = 0;
  private handle: FileHandle | undefined;
  private scanned = 0;
  private readonly kernel = new KernelOutputScan();

  constructor(private readonly file: string) {}

  get kernelSeen(): boolean {
    return this.kernel.seen;
  }

  /** Re-reads the size and scans new bytes; returns true when the console grew. */
  async poll(): Promise<boolean> {
    const size = await stat(this.file).then((s) => s.size, () => 0);
    const grew = size !== this.size;
    this.size = size;
    if (!this.kernelSeen && size > this.scanned && this.scanned < SCAN_LIMIT) await this.scan(size);
    return grew;
  }

  private async scan(size: number): Promise<void> {
    this.handle ??= await open(this.file, 'r').catch(() => undefined);
    if (!this.handle) return;
    const length = Math.min(size, SCAN_LIMIT) - this.scanned;
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await this.handle.read(buffer, 0, length, this.scanned);
    this.scanned += bytesRead;
    this.kernel.feed(buffer.subarray(0, bytesRead));
  }

  async close(): Promise<void> {
    await this.handle?.close();
    this.handle = undefined;
  }
}
