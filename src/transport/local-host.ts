import type { Readable, Writable } from 'node:stream';
import { execa } from 'execa';
import { KvmFarmError } from '../util/errors.js';
import { interrupted } from './channel-run.js';
import { getViaCat, putViaCat } from './transfer.js';
import {
  type CmdResult,
  DEFAULT_RUN_TIMEOUT_MS,
  type ExitStatus,
  type Host,
  type RunOptions,
  type SpawnHandle,
  type SpawnOptions,
  type TransferOptions,
} from './types.js';

/** The machine kvm-farm runs on: the words go straight to execve, no shell and no ssh. */
export class LocalHost implements Host {
  readonly name: string;

  constructor(name = 'localhost') {
    this.name = name;
  }

  async run(words: string[], options: RunOptions = { timeoutMs: DEFAULT_RUN_TIMEOUT_MS }): Promise<CmdResult> {
    const [file, ...args] = checkWords(words);
    const stdin = options.stdin;
    const subprocess = execa(file, args, {
      reject: false,
      stripFinalNewline: false,
      timeout: options.timeoutMs,
      killSignal: 'SIGKILL',
      ...(options.signal ? { cancelSignal: options.signal } : {}),
      ...(stdin === undefined || isStream(stdin) ? {} : { input: stdin }),
      ...(isStream(stdin) ? { stdin: 'pipe' as const } : {}),
    });
    if (isStream(stdin)) stdin.pipe(subprocess.stdin!);
    const result = await subprocess;
    if (result.isCanceled) throw interrupted(words, this.name);
    const notStarted = result.exitCode === undefined && result.signal === undefined;
    return {
      command: words,
      // A program that could not be started reads like the shell's "command not found".
      exitCode: notStarted ? 127 : (result.exitCode ?? null),
      signal: result.signal ?? null,
      stdout: String(result.stdout ?? ''),
      stderr: notStarted ? `${result.shortMessage}\n` : String(result.stderr ?? ''),
      durationMs: result.durationMs,
      timedOut: result.timedOut,
    };
  }

  async spawn(words: string[], options: SpawnOptions = {}): Promise<SpawnHandle> {
    const [file, ...args] = checkWords(words);
    const subprocess = execa(file, args, {
      reject: false,
      buffer: false,
      killSignal: 'SIGKILL',
      ...(options.timeoutMs === undefined ? {} : { timeout: options.timeoutMs }),
      ...(options.signal ? { cancelSignal: options.signal } : {}),
    });
    const exited: Promise<ExitStatus> = subprocess.then((result) => ({
      exitCode: result.exitCode ?? (result.signal ? null : 127),
      signal: result.signal ?? null,
    }));
    return {
      command: words,
      stdin: subprocess.stdin!,
      stdout: subprocess.stdout!,
      stderr: subprocess.stderr!,
      exited,
      kill: (signal = 'SIGTERM') => subprocess.kill(signal as NodeJS.Signals),
    };
  }

  putStream(path: string, source: Readable | Buffer, options: TransferOptions): Promise<CmdResult> {
    return putViaCat(this, path, source, options);
  }

  getStream(path: string, destination: Writable, options: TransferOptions): Promise<CmdResult> {
    return getViaCat(this, path, destination, options);
  }

  async close(): Promise<void> {}
}

function checkWords(words: string[]): [string, ...string[]] {
  if (words.length === 0 || words[0] === '') throw new KvmFarmError('KVMFARM_BAD_ARGUMENT', 'a command needs at least one word (the program to run)');
  return words as [string, ...string[]];
}

function isStream(value: unknown): value is Readable {
  return typeof value === 'object' && value !== null && typeof (value as Readable).pipe === 'function';
}
