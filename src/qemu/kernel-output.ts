/**
 * Kernel output, as opposed to firmware's: SeaBIOS prints its banner on the serial
 * console under -nographic before any kernel runs, so a byte count cannot tell a
 * booting kernel from one stuck before its first printk.
 */
const KERNEL_OUTPUT = /Linux version |^\[\s*\d+\.\d+\]/m;

/**
 * "Has the kernel printed yet", for a console read piece by piece (a growing file, an
 * ssh channel): the one place that rule lives. Keeps the last partial line so a
 * marker split across two pieces is still found.
 */
export class KernelOutputScan {
  seen = false;
  private tail = '';

  /** Scans one more piece of console; returns whether the kernel has printed by now. */
  feed(chunk: Buffer | string): boolean {
    if (this.seen) return true;
    const text = this.tail + (typeof chunk === 'string' ? chunk : chunk.toString('latin1'));
    this.seen = KERNEL_OUTPUT.test(text);
    this.tail = text.slice(text.lastIndexOf('\n') + 1).slice(-256);
    return this.seen;
  }
}
