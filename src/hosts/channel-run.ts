import type { Readable } from 'node:stream';
import type { ClientChannel } from 'ssh2';
import { KvmFarmError } from '../util/errors.js';
import type { CmdResult, ExitStatus, RunOptions } from './types.js';

/** After KILL is sent, how long the channel may take to report the exit before it is closed anyway. */
const KILL_GRACE_MS = 2_000;

/** Node names signals SIGKILL; the ssh protocol says KILL. */
export function nodeSignalName(name: string | undefined | null): string | null {
  if (!name) return null;
  return name.startsWith('SIG') ? name : `SIG${name}`;
}

export function protocolSignalName(name: string): string {
  return name.replace(/^SIG/, '');
}

/** Ends a remote program: the protocol's signal request, then closing the channel in case the server ignores it. */
export function killChannel(channel: ClientChannel, signal = 'SIGKILL'): void {
  try {
    channel.signal(protocolSignalName(signal));
  } catch {
    // The channel may already be closing; the close below still ends it.
  }
  setTimeout(() => channel.close(), KILL_GRACE_MS).unref();
}

export function interrupted(words: string[], host: string): KvmFarmError {
  return new KvmFarmError('KVMFARM_INTERRUPTED', `${host}: "${words.join(' ')}" was interrupted`);
}

/** Watches a channel for its exit report; `lost()` says why it closed without one, if the connection died. */
export function watchExit(channel: ClientChannel, lost: () => Error | null): Promise<ExitStatus & { sawExit: boolean }> {
  return new Promise((resolve, reject) => {
    const status = { exitCode: null as number | null, signal: null as string | null, sawExit: false };
    channel.on('exit', (code: number | null, signal?: string) => {
      status.sawExit = true;
      if (typeof code === 'number') status.exitCode = code;
      else status.signal = nodeSignalName(signal);
    });
    channel.on('close', () => {
      const error = status.sawExit ? null : lost();
      if (error) reject(error);
      else resolve(status);
    });
  });
}

export function feedStdin(channel: ClientChannel, stdin: RunOptions['stdin'], onError: (error: Error) => void): void {
  if (stdin === undefined) channel.end();
  else if (typeof stdin === 'string' || Buffer.isBuffer(stdin)) channel.end(stdin);
  else {
    (stdin as Readable).on('error', onError);
    (stdin as Readable).pipe(channel);
  }
}

/** Runs one exec channel to its end and gives the one result shape for success, failure and timeout. */
export async function collectChannel(
  channel: ClientChannel,
  words: string[],
  host: string,
  options: RunOptions,
  started: number,
  lost: () => Error | null,
): Promise<CmdResult> {
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  channel.on('data', (chunk: Buffer) => stdout.push(chunk));
  channel.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
  let timedOut = false;
  let aborted = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killChannel(channel);
  }, options.timeoutMs);
  const onAbort = (): void => {
    aborted = true;
    killChannel(channel);
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const exit = watchExit(channel, lost);
  feedStdin(channel, options.stdin, () => killChannel(channel));
  try {
    const status = await exit;
    if (aborted) throw interrupted(words, host);
    return {
      command: words,
      exitCode: status.exitCode,
      signal: status.signal ?? (timedOut && status.exitCode === null ? 'SIGKILL' : null),
      stdout: Buffer.concat(stdout).toString('utf8'),
      stderr: Buffer.concat(stderr).toString('utf8'),
      durationMs: performance.now() - started,
      timedOut,
    };
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
  }
}
