import { randomBytes } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import { printable } from '../util/printable.js';
import { quoteWords } from './quote.js';

/**
 * sshd runs every exec through the user's login shell, and real hosts' rc files
 * print (a pyenv lock warning, a banner, `stty` complaints) or stall before our
 * command starts. So each command first prints a start line that no rc file can
 * know (random per command) on stdout and stderr, then execs the words; whatever
 * comes before that line is the shell's start-up talk, kept apart from the
 * command's output and quoted when something goes wrong. `exec` leaves no shell
 * behind the command, so nothing can print after it either.
 */
const START_SCRIPT = 'printf "%s\\n" "$0" >&2; printf "%s\\n" "$0"; exec "$@"';

/** How much of the shell's start-up talk is kept for messages; the rest is counted, not stored. */
export const PREAMBLE_KEEP_BYTES = 4096;

const EMPTY = Buffer.alloc(0);

export interface FramedCommand {
  /** The command line for the exec request. */
  command: string;
  /** In the command's environment (KVMFARM_CMD) so a sweep can find and kill it. */
  marker: string;
  /** The line the command prints first on stdout and stderr. */
  startLine: string;
}

/** Frames `words` for a login shell: the kill marker in the environment, the start line, then exec. */
export function frameCommand(words: string[]): FramedCommand {
  const marker = randomBytes(9).toString('hex');
  const startLine = `kvmfarm-start-${randomBytes(12).toString('hex')}`;
  const command = `exec env KVMFARM_CMD=${marker} sh -c ${quoteWords([START_SCRIPT, startLine, ...words])}`;
  return { command, marker, startLine };
}

/**
 * Splits one output stream at the start line: bytes before it are the login shell's
 * (kept up to PREAMBLE_KEEP_BYTES), bytes after it the command's. Synchronous, so a
 * caller collecting chunks keeps their order with the channel's other events.
 */
export class PreambleSplitter {
  /** performance.now() when the start line arrived; null until then. */
  startedAt: number | null = null;
  private readonly line: Buffer;
  private carry = EMPTY;
  private readonly kept: Buffer[] = [];
  private keptBytes = 0;
  private droppedBytes = 0;

  constructor(startLine: string) {
    this.line = Buffer.from(`${startLine}\n`);
  }

  get started(): boolean {
    return this.startedAt !== null;
  }

  /** The command's part of `chunk` (empty while the shell is still starting). */
  feed(chunk: Buffer): Buffer {
    if (this.started) return chunk;
    const data = this.carry.length > 0 ? Buffer.concat([this.carry, chunk]) : chunk;
    const at = data.indexOf(this.line);
    if (at < 0) {
      // The start line may be cut between chunks: hold back what could be its beginning.
      const hold = Math.min(data.length, this.line.length - 1);
      this.remember(data.subarray(0, data.length - hold));
      this.carry = Buffer.from(data.subarray(data.length - hold));
      return EMPTY;
    }
    this.remember(data.subarray(0, at));
    this.carry = EMPTY;
    this.startedAt = performance.now();
    return data.subarray(at + this.line.length);
  }

  /** What the login shell printed before the command (all of it, if the command never started). */
  preamble(): string {
    const text = Buffer.concat([...this.kept, this.started ? EMPTY : this.carry]).toString('utf8');
    return this.droppedBytes > 0 ? `${text}... (${this.droppedBytes} more bytes)` : text;
  }

  private remember(bytes: Buffer): void {
    const room = PREAMBLE_KEEP_BYTES - this.keptBytes;
    if (room > 0) this.kept.push(Buffer.from(bytes.subarray(0, room)));
    this.keptBytes += Math.min(room, bytes.length);
    this.droppedBytes += Math.max(0, bytes.length - Math.max(0, room));
  }
}

/** A stream of the command's output only, for spawn()'s readers. */
export function stripPreamble(source: Readable, splitter: PreambleSplitter): Readable {
  const out = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      const body = splitter.feed(chunk);
      done(null, body.length > 0 ? body : undefined);
    },
  });
  source.on('error', (error: Error) => out.destroy(error));
  return source.pipe(out);
}

/**
 * The shell's start-up talk from both streams, as one bounded printable line, or ''
 * when it said nothing: the host's own words for a message.
 */
export function describePreamble(stdout: PreambleSplitter, stderr: PreambleSplitter, max = 300): string {
  const text = [stderr.preamble(), stdout.preamble()].map((t) => t.trim()).filter((t) => t !== '').join('\n');
  return text === '' ? '' : printable(text, max);
}

/** The login shell's report for a command whose exec was requested at `since` (performance.now()). */
export function loginShellReport(stdout: PreambleSplitter, stderr: PreambleSplitter, since: number): { said: string; startMs: number | null } {
  const starts = [stdout.startedAt, stderr.startedAt].filter((t): t is number => t !== null);
  return { said: describePreamble(stdout, stderr), startMs: starts.length > 0 ? Math.round(Math.min(...starts) - since) : null };
}
