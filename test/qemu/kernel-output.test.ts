import { describe, expect, it } from 'vitest';
import { KernelOutputScan } from '../../src/qemu/kernel-output.js';

describe('KernelOutputScan', () => {
  it('ignores firmware chatter and finds the banner or a printk timestamp, split across pieces too', () => {
    const scan = new KernelOutputScan();
    expect(scan.feed('SeaBIOS (version 1.16.2-debian-1.16.2-1)\nBooting from ROM..')).toBe(false);
    expect(scan.feed(Buffer.from('.\nLinux ver'))).toBe(false);
    expect(scan.feed('sion 6.1.0 (gcc)\n')).toBe(true);
    expect(scan.seen).toBe(true);
    const stamp = new KernelOutputScan();
    expect(stamp.feed('xx\n[    0.00')).toBe(false);
    expect(stamp.feed('0000] Command line: console=ttyS0\n')).toBe(true);
    expect(new KernelOutputScan().feed('not at line start [    0.000000]')).toBe(false);
  });
});
