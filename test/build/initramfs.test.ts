import { describe, expect, it } from 'vitest';
import { newcArchive } from '../../src/build/initramfs.js';

/** Reads back a newc archive: name, mode, rdev and data of each member. */
function readNewc(buffer: Buffer) {
  const out: { name: string; mode: number; rdev: [number, number]; data: string }[] = [];
  let offset = 0;
  const align = () => (offset = (offset + 3) & ~3);
  for (;;) {
    expect(buffer.toString('ascii', offset, offset + 6)).toBe('070701');
    const field = (i: number) => parseInt(buffer.toString('ascii', offset + 6 + i * 8, offset + 14 + i * 8), 16);
    const mode = field(1);
    const size = field(6);
    const rdev: [number, number] = [field(9), field(10)];
    const nameSize = field(11);
    const name = buffer.toString('ascii', offset + 110, offset + 110 + nameSize - 1);
    offset += 110 + nameSize;
    align();
    const data = buffer.toString('utf8', offset, offset + size);
    offset += size;
    align();
    if (name === 'TRAILER!!!') break;
    out.push({ name, mode, rdev, data });
  }
  expect(offset).toBe(buffer.length);
  return out;
}

describe('newcArchive', () => {
  it('writes members the way a newc reader reads them back, 4-byte aligned, ending in the trailer', () => {
    const archive = newcArchive([
      { name: 'dev', mode: 0o040755 },
      { name: 'dev/console', mode: 0o020600, rdev: [5, 1] },
      { name: 'init', mode: 0o100755, data: Buffer.from('#!hello') },
    ]);
    expect(readNewc(archive)).toEqual([
      { name: 'dev', mode: 0o040755, rdev: [0, 0], data: '' },
      { name: 'dev/console', mode: 0o020600, rdev: [5, 1], data: '' },
      { name: 'init', mode: 0o100755, rdev: [0, 0], data: '#!hello' },
    ]);
  });

  it('is byte-for-byte reproducible', () => {
    const entries = [{ name: 'init', mode: 0o100755, data: Buffer.from('x') }];
    expect(newcArchive(entries).equals(newcArchive(entries))).toBe(true);
  });
});
