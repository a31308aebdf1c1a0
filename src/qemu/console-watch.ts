import { open, stat, type FileHandle } from 'node:fs/promises';

/**
 * Kernel output, as opposed to firmware's: SeaBIOS prints its banner on the serial
 * console under -nographic before any kernel runs, so a byte count cannot tell a
 * booting kernel from one stuck before its first printk.
 */
const KERNEL_OUTPUT = /Linux version |^\[\s*\d+\.\d+\]/m;
/** Stop scanning for the kernel's first line after this much firmware chatter. */
const SCAN_LIMIT = 4 * 1024 * 1024;

/** Follows a growing console file: its size, and whether a kernel has printed yet. */
export class ConsoleWatch {
  size = 0;
  kernelSeen = false;
  private handle: FileHandle | undefined;
  private scanned = 0;
  private tail = '';

  constructor(private readonly file: string) {}

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
    // Keep the last partial line so a marker split across two reads is still found.
    const text = this.tail + buffer.subarray(0, bytesRead).toString('latin1');
    if (KERNEL_OUTPUT.test(text)) this.kernelSeen = true;
    this.tail = text.slice(text.lastIndexOf('\n') + 1).slice(-256);
  }

  async close(): Promise<void> {
    await this.handle?.close();
    this.handle = undefined;
  }
}
