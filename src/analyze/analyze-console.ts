import { FindingsBuilder, finishFindings, joinLineFindings, type LineFindings } from './findings-builder.js';
import { PREFILTER, STAT_WORD } from './line-kinds.js';
import type { AnalyzeOptions, ConsoleFindings } from './types.js';

/**
 * A line longer than this is cut in pieces rather than held whole: a stuck qemu
 * can write megabytes of nul bytes without a newline, and memory must not grow
 * with that. A trouble word straddling a cut may be missed; real kernel lines are
 * far shorter than this.
 */
const MAX_LINE_BYTES = 64 * 1024;
/** Bytes of the log's end kept to show where it stopped. */
export const TAIL_BYTES = 4096;
/**
 * Bytes read from a file at a time. Measured on 50 MB to 3.2 GB logs: 128 KiB
 * reads as fast as 1 MiB, and holds the process's peak RSS to about half, since
 * each chunk's decoded text is garbage the moment it has been searched.
 */
export const READ_CHUNK_BYTES = 128 * 1024;
const TAIL_LINES = 10;

export type ConsoleSource = AsyncIterable<Buffer | string> | NodeJS.ReadableStream;

/** What one stretch of a log showed: its lines' findings, its size and its last bytes. */
export interface StretchFindings {
  lines: LineFindings;
  bytes: number;
  /** Up to the last {@link TAIL_BYTES} bytes of the stretch. */
  tail: Buffer;
}

/**
 * Reads a console log once, chunk by chunk, and returns what it shows. Memory
 * stays bounded whatever the log's size: a partial line between chunks, the tail,
 * and the counts and first lines of each finding.
 */
export async function analyzeConsole(source: ConsoleSource, options: AnalyzeOptions): Promise<ConsoleFindings> {
  return finishStretches([await readStretch(source, 0)], options);
}

/**
 * Reads one stretch of a log that starts `base` bytes into the file (offsets in
 * the findings are the file's). Each complete run of lines is decoded as latin1
 * (one char per byte, so string positions are byte offsets, and nul bytes
 * survive) and searched with a single prefilter regex; only lines it hits are
 * looked at further.
 */
export async function readStretch(source: ConsoleSource, base: number): Promise<StretchFindings> {
  const builder = new FindingsBuilder();
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let offset = base; // file offset of pending[0]'s first byte
  let tail: Buffer = Buffer.alloc(0);

  const scan = (buf: Buffer, end: number): void => {
    scanLines(buf, end, offset, builder);
    tail = keepTail(tail, buf.subarray(0, end));
    offset += end;
  };

  for await (const raw of source as AsyncIterable<Buffer | string>) {
    let chunk = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw;
    if (chunk.length === 0) continue;
    if (pendingBytes > 0) {
      // Only the line that straddles the chunks is joined: joining whole chunks
      // would make a chunk-sized copy, outside the heap, for every chunk read.
      const newline = chunk.indexOf(10);
      const take = newline >= 0 ? newline + 1 : chunk.length;
      if (newline < 0 && pendingBytes + chunk.length < MAX_LINE_BYTES) {
        // Copied because a source may reuse its buffer for the next chunk.
        pending.push(Buffer.from(chunk));
        pendingBytes += chunk.length;
        continue;
      }
      const joined = Buffer.concat([...pending, chunk.subarray(0, take)]);
      scan(joined, joined.length);
      pending = [];
      pendingBytes = 0;
      chunk = chunk.subarray(take);
    }
    const lastNewline = chunk.lastIndexOf(10);
    const end = lastNewline >= 0 ? lastNewline + 1 : chunk.length < MAX_LINE_BYTES ? 0 : chunk.length;
    if (end > 0) scan(chunk, end);
    const rest = chunk.subarray(end);
    pending = rest.length > 0 ? [Buffer.from(rest)] : [];
    pendingBytes = rest.length;
  }
  if (pendingBytes > 0) {
    const buf = Buffer.concat(pending);
    scan(buf, buf.length);
  }
  return { lines: builder.findings, bytes: offset - base, tail };
}

/** The findings of the whole log from its stretches, in file order. */
export function finishStretches(stretches: StretchFindings[], options: AnalyzeOptions): ConsoleFindings {
  const [first, ...rest] = stretches;
  if (!first) throw new Error('no stretches to join');
  const whole = rest.reduce(
    (a, b) => ({ lines: joinLineFindings(a.lines, b.lines), bytes: a.bytes + b.bytes, tail: keepTail(a.tail, b.tail) }),
    first,
  );
  return finishFindings(whole.lines, whole.bytes, tailLines(whole.tail), options);
}

function scanLines(buf: Buffer, end: number, base: number, builder: FindingsBuilder): void {
  const text = buf.toString('latin1', 0, end);
  const re = new RegExp(PREFILTER.source, 'g');
  let m = re.exec(text);
  while (m !== null) {
    const start = text.lastIndexOf('\n', m.index) + 1;
    let stop = text.indexOf('\n', m.index);
    if (stop < 0) stop = text.length;
    const lineEnd = stop > start && text.charCodeAt(stop - 1) === 13 ? stop - 1 : stop;
    const word = m[0];
    // Scanning on finds whether the line holds a second word; if not, a statistics
    // line (the bulk of all hits) takes the short path, with no trouble to look for.
    let next = re.exec(text);
    const alone = next === null || next.index >= stop;
    if (!alone) {
      re.lastIndex = stop + 1;
      next = re.exec(text);
    }
    const line = text.slice(start, lineEnd);
    const quote = (): string => buf.toString('utf8', start, lineEnd);
    if (alone && word === STAT_WORD) builder.addStatLine(line, base + start, quote);
    else builder.addLine(line, base + start, quote);
    m = next;
  }
}

function keepTail(tail: Buffer, more: Buffer): Buffer {
  if (more.length >= TAIL_BYTES) return Buffer.from(more.subarray(more.length - TAIL_BYTES));
  const joined = Buffer.concat([tail, more]);
  return joined.length > TAIL_BYTES ? joined.subarray(joined.length - TAIL_BYTES) : joined;
}

function tailLines(tail: Buffer): string[] {
  const lines = tail.toString('utf8').split('\n');
  if (lines.at(-1) === '') lines.pop();
  // The first piece may be the end of a line cut by the byte limit.
  if (tail.length >= TAIL_BYTES) lines.shift();
  return lines.slice(-TAIL_LINES);
}
