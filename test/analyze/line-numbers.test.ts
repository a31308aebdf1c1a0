import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { lineNumbersIn } from '../../src/analyze/line-numbers.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'kvmfarm-lines-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('lineNumbersIn', () => {
  it('gives the line of each byte offset, and the numbers of the last lines', async () => {
    const lines = Array.from({ length: 50_000 }, (_, i) => `line ${i + 1} ${'x'.repeat(i % 97)}`);
    const file = path.join(dir, 'console.log');
    writeFileSync(file, `${lines.join('\n')}\n`);
    const offsetOf = (n: number) => lines.slice(0, n - 1).reduce((s, l) => s + l.length + 1, 0);
    expect(await lineNumbersIn(file, { offsets: [offsetOf(40_000), offsetOf(1), offsetOf(2), offsetOf(50_000)] })).toEqual([40_000, 1, 2, 50_000]);
    expect(await lineNumbersIn(file, { tail: 3 })).toEqual([49_998, 49_999, 50_000]);
    writeFileSync(file, 'a\nb\nunterminated');
    expect(await lineNumbersIn(file, { tail: 10 })).toEqual([1, 2, 3]);
    expect(await lineNumbersIn(file, { offsets: [4] })).toEqual([3]);
  });
});
