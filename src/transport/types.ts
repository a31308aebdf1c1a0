import type { Readable, Writable } from 'node:stream';

/**
 * What one command did, the same shape whether it succeeded, failed or timed out
 * (Autoserv's CmdResult, execa's result). Judging reads this record; it does not
 * catch exceptions to decide.
 */
export interface CmdResult {
  /** The words as given, before quoting. */
  command: string[];
  /** Exit status, or null when the program was ended by a signal or never reported one. */
  exitCode: number | null;
  /** Signal that ended the program, as Node names it (`SIGKILL`), or null. */
  signal: string | null;
  stdout: string;
  stderr: string;
  durationMs: number;
  /** True when run() ended the program because `timeoutMs` passed. */
  timedOut: boolean;
  /** Over ssh: what the user's login shell said and how long it took before the command started. */
  loginShell?: LoginShellReport;
}

/** The login shell's part of a command over ssh: its rc files run before the words do. */
export interface LoginShellReport {
  /** What the shell printed before the command started, one bounded printable line ('' for nothing). */
  said: string;
  /** Milliseconds from the exec request until the command started; null when it never did. */
  startMs: number | null;
}

export interface RunOptions {
  /** Longest the command may run; then it is killed and the result has `timedOut`. */
  timeoutMs: number;
  /** Bytes for the program's standard input; without it stdin is closed at once. */
  stdin?: Readable | Buffer | string;
  /** Aborting kills the program and rejects with KVMFARM_INTERRUPTED. */
  signal?: AbortSignal;
}

export interface SpawnOptions {
  /** Optional limit: past it the program is killed and `exited` reports SIGKILL. */
  timeoutMs?: number;
  /** Aborting kills the program; `exited` then reports how it ended. */
  signal?: AbortSignal;
  /** CPUs the program will keep busy: a cluster host asks its scheduler for them (srun -c); others ignore it. */
  cpus?: number;
}

export interface ExitStatus {
  exitCode: number | null;
  signal: string | null;
}

/**
 * A program started with spawn(): its streams, and `exited`, which settles once,
 * as an event, when the program ends (rejects with KVMFARM_HOST_UNREACHABLE when
 * the connection to its host is lost first). Nothing has to poll it.
 */
export interface SpawnHandle {
  readonly command: string[];
  readonly stdin: Writable;
  readonly stdout: Readable;
  readonly stderr: Readable;
  readonly exited: Promise<ExitStatus>;
  /** Sends a signal (`SIGTERM` by default); over ssh this is the protocol's signal request. */
  kill(signal?: string): void;
  /** Over ssh: what the login shell said and took before the program started (so far). */
  loginShell?(): LoginShellReport;
}

export interface TransferOptions {
  timeoutMs: number;
  signal?: AbortSignal;
}

/**
 * A machine that runs commands: the local one or one reached by ssh. Commands are
 * word lists; a host never joins words itself except through quoteWords().
 */
export interface Host {
  readonly name: string;
  run(words: string[], options?: RunOptions): Promise<CmdResult>;
  spawn(words: string[], options?: SpawnOptions): Promise<SpawnHandle>;
  /** Writes `source` to `remotePath` (through `cat`, so it suits a tar stream too). */
  putStream(remotePath: string, source: Readable | Buffer, options: TransferOptions): Promise<CmdResult>;
  /** Copies `remotePath` into `destination`; the result's stdout is empty. */
  getStream(remotePath: string, destination: Writable, options: TransferOptions): Promise<CmdResult>;
  close(): Promise<void>;
}

/** The limit run() uses when the caller gives none: every wait has one. */
export const DEFAULT_RUN_TIMEOUT_MS = 10 * 60_000;
