import { createReadStream } from 'node:fs';

/**
 * 1-based line numbers in a file: of the lines starting at the given byte offsets,
 * or, with `tail` lines and no offsets, of the file's last `tail` lines. Counting
 * newlines is a plain byte scan, read only as far as needed, and only done for a
 * verdict that quotes lines, so a clean run never reads its console twice.
 */
export async function lineNumbersIn(file: string, want: { offsets: readonly number[] } | { tail: number }): Promise<number[]> {
  const offsets = 'offsets' in want ? [...want.offsets] : [];
  const sorted = [...new Set(offsets)].sort((a, b) => a - b);
  const limit = 'offsets' in want ? (sorted.at(-1) ?? -1) : Number.POSITIVE_INFINITY;
  const lineAt = new Map<number, number>();
  let newlines = 0;
  let base = 0;
  let next = 0;
  let lastByte = 10;
  for await (const chunk of createReadStream(file, limit === Number.POSITIVE_INFINITY ? {} : { end: Math.max(0, limit) })) {
    const buf = chunk as Buffer;
    let from = 0;
    for (;;) {
      const nl = buf.indexOf(10, from);
      const end = nl < 0 ? buf.length : nl;
      // Offsets before this newline are on the current line.
      while (next < sorted.length && sorted[next]! <= base + end) lineAt.set(sorted[next++]!, newlines + 1);
      if (nl < 0) break;
      newlines++;
      from = nl + 1;
    }
    if (buf.length > 0) lastByte = buf[buf.length - 1]!;
    base += buf.length;
  }
  while (next < sorted.length) lineAt.set(sorted[next++]!, newlines + 1);
  if ('offsets' in want) return offsets.map((o) => lineAt.get(o)!);
  const total = newlines + (lastByte === 10 ? 0 : 1);
  return Array.from({ length: Math.min(want.tail, total) }, (_, i) => total - Math.min(want.tail, total) + 1 + i);
}
