import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import os from 'node:os';
import { printable } from '../util/printable.js';
import { KvmFarmError } from '../util/errors.js';
import { firstMessage, startModuleWorker } from '../util/module-worker.js';
import { finishStretches, READ_CHUNK_BYTES, readStretch, type StretchFindings } from './analyze-console.js';
import type { AnalyzeOptions, ConsoleFindings } from './types.js';

/**
 * Below this a log is read in the caller's thread: most consoles are a few
 * megabytes, and each worker costs a start-up and tens of megabytes of memory.
 */
const PARALLEL_MIN_BYTES = 64 * 1024 * 1024;
/** Each thread gets at least this much of the log. */
const STRETCH_MIN_BYTES = 16 * 1024 * 1024;
/** How far past a nominal cut to look for the end of a line. */
const LINE_SEARCH_BYTES = 64 * 1024;

export interface AnalyzeFileOptions extends AnalyzeOptions {
  /**
   * How many worker threads read the log side by side, each one stretch of
   * lines. 1 reads it in this thread. Default: {@link defaultAnalyzeThreads}.
   */
  threads?: number;
  /** Read no more than this many bytes (a log still being written is read as far as it was). */
  maxBytes?: number;
}

/**
 * A console is opened without following a link and without blocking (a FIFO opens
 * at once), and must be a regular file by fstat on the descriptor: a console linked
 * to /dev/zero or made a FIFO is refused instead of read forever.
 */
const CONSOLE_OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** What a stretch worker is asked to read: bytes `start` up to `end` (null: to the end of the file). */
export interface StretchJob {
  path: string;
  start: number;
  end: number | null;
}

/**
 * {@link analyzeConsole} on a file. A big log is cut at line ends into stretches
 * that worker threads read side by side, and their findings are joined into what
 * one reader would have found; this also keeps a long analysis off the caller's
 * event loop, which may be watching guests.
 */
export async function analyzeConsoleFile(path: string, options: AnalyzeFileOptions): Promise<ConsoleFindings> {
  const handle = await open(path, CONSOLE_OPEN_FLAGS).catch((error: NodeJS.ErrnoException) => {
    throw new KvmFarmError('KVMFARM_UNSAFE_FILE', `cannot read console ${printable(path)}: ${error.code === 'ELOOP' ? 'it is a symbolic link' : (error.code ?? error.message)}`);
  });
  let jobs: StretchJob[];
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new KvmFarmError('KVMFARM_UNSAFE_FILE', `console ${printable(path)} is not a regular file; refused`);
    const size = Math.min(stat.size, options.maxBytes ?? Number.MAX_SAFE_INTEGER);
    const threads = options.threads ?? defaultAnalyzeThreads(size);
    if (!Number.isInteger(threads) || threads < 1) throw new Error(`threads must be a whole number of at least 1, not ${threads}`);
    if (threads === 1) return finishStretches([await readStretch(fileChunks(handle, 0, size), 0)], options);
    jobs = await stretchesAtLineEnds(handle, path, size, threads);
  } finally {
    await handle.close();
  }
  const stretches = await Promise.all(jobs.map((job) => readStretchInWorker(job)));
  return finishStretches(stretches, options);
}

/** One thread per core (at most 4) for logs over 64 MiB, each reading at least 16 MiB; else 1. */
export function defaultAnalyzeThreads(size: number): number {
  if (size < PARALLEL_MIN_BYTES) return 1;
  return Math.max(1, Math.min(os.availableParallelism(), 4, Math.floor(size / STRETCH_MIN_BYTES)));
}

/**
 * Cuts the file into `parts` stretches of about equal size, each ending just
 * after a newline, so that no line is split between two readers. A line longer
 * than the search window is cut at the nominal point: the one-thread reader
 * cuts such lines in pieces too, so neither ever holds one whole.
 */
async function stretchesAtLineEnds(handle: FileHandle, path: string, size: number, parts: number): Promise<StretchJob[]> {
  const window = Buffer.alloc(LINE_SEARCH_BYTES);
  const cuts: number[] = [];
  for (let i = 1; i < parts; i++) {
    const nominal = Math.floor((size * i) / parts);
    const { bytesRead } = await handle.read(window, 0, LINE_SEARCH_BYTES, nominal);
    const newline = window.subarray(0, bytesRead).indexOf(10);
    const cut = newline >= 0 ? nominal + newline + 1 : nominal;
    if (cut > (cuts.at(-1) ?? 0) && cut < size) cuts.push(cut);
  }
  const starts = [0, ...cuts];
  return starts.map((start, i) => ({ path, start, end: i + 1 < starts.length ? starts[i + 1]! : size }));
}

/**
 * Bytes `start` up to `end` (null: to the end of the file) in chunks read into
 * one reused buffer: a fresh buffer per chunk would leave tens of megabytes of
 * garbage outside the heap before the collector notices it.
 */
export async function* fileChunks(handle: FileHandle, start: number, end: number | null): AsyncGenerator<Buffer> {
  const buf = Buffer.allocUnsafe(READ_CHUNK_BYTES);
  for (let pos = start; end === null || pos < end; ) {
    const want = end === null ? buf.length : Math.min(buf.length, end - pos);
    const { bytesRead } = await handle.read(buf, 0, want, pos);
    if (bytesRead === 0) return;
    pos += bytesRead;
    yield buf.subarray(0, bytesRead);
  }
}

async function readStretchInWorker(job: StretchJob): Promise<StretchFindings> {
  const worker = startModuleWorker(new URL('./stretch-worker.js', import.meta.url), job);
  try {
    const found = await firstMessage<StretchFindings>(worker);
    // Structured cloning turns the Buffer into a plain Uint8Array.
    return { ...found, tail: Buffer.from(found.tail.buffer, found.tail.byteOffset, found.tail.byteLength) };
  } finally {
    await worker.terminate();
  }
}

