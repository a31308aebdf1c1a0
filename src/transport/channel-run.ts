import type { Readable } from 'node:stream';
import type { ClientChannel } from 'ssh2';
import { KvmFarmError } from '../util/errors.js';
import type { CmdResult, ExitStatus, RunOptions } from './types.js';

/** After KILL is sent, how long the channel may take to report the exit before it is closed anyway. */
export const KILL_GRACE_MS = 2_000;

/** Ends the program on a channel; `abandon` tells the waiter to stop waiting if even that fails. */
export type ChannelKiller = (abandon?: () => void) => void;

/** Node names signals SIGKILL; the ssh protocol says KILL. */
export function nodeSignalName(name: string | undefined | null): string | null {
  if (!name) return null;
  return name.startsWith('SIG') ? name : `SIG${name}`;
}

export function protocolSignalName(name: string): string {
  return name.replace(/^SIG/, '');
}

/**
 * Sends a signal request. ssh2's Channel.signal() silently drops it once stdin is
 * at EOF, which run() always reaches first, so this goes to the protocol layer of
 * the pinned ssh2 1.17 directly. OpenSSH's sshd turns it into killpg() of the session.
 */
export function sendSignal(channel: ClientChannel, signal: string): boolean {
  const c = channel as unknown as {
    outgoing: { id: number; state: string };
    _client: { _protocol: { signal(id: number, name: string): void } };
  };
  if (c.outgoing.state !== 'open' && c.outgoing.state !== 'eof') return false;
  try {
    c._client._protocol.signal(c.outgoing.id, protocolSignalName(signal));
    return true;
  } catch {
    return false;
  }
}

export function interrupted(words: string[], host: string): KvmFarmError {
  return new KvmFarmError('KVMFARM_INTERRUPTED', `${host}: "${words.join(' ')}" was interrupted`);
}

export interface WatchedExit {
  exit: Promise<ExitStatus & { sawExit: boolean }>;
  abandon: () => void;
}

/**
 * Watches a channel for its exit report; `lost()` says why it closed without one, if
 * the connection died. Call it inside ssh2's exec callback, not after an await: ssh2
 * handles every packet of one read before any promise continues, and a fast command's
 * exit status often arrives in the same read as the exec reply. Its 'exit' event,
 * emitted with no listener yet, would be gone (a probe's mkdir came back with no exit
 * status on a farm host that way).
 */
export function watchExit(
  channel: ClientChannel,
  lost: () => Error | null,
): WatchedExit {
  let abandon = (): void => {};
  const exit = new Promise<ExitStatus & { sawExit: boolean }>((resolve, reject) => {
    const status = { exitCode: null as number | null, signal: null as string | null, sawExit: false };
    abandon = () => resolve(status);
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
  return { exit, abandon };
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
  /** The channel's exit, watched from the moment it opened (watchExit). */
  watched: WatchedExit,
  words: string[],
  host: string,
  options: RunOptions,
  started: number,
  kill: ChannelKiller,
  /** Keeps only the command's part of each chunk (over ssh: drops the login shell's start-up talk). */
  filter?: { stdout: (chunk: Buffer) => Buffer; stderr: (chunk: Buffer) => Buffer },
): Promise<CmdResult> {
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  channel.on('data', (chunk: Buffer) => stdout.push(filter ? filter.stdout(chunk) : chunk));
  channel.stderr.on('data', (chunk: Buffer) => stderr.push(filter ? filter.stderr(chunk) : chunk));
  let timedOut = false;
  let aborted = false;
  const { exit, abandon } = watched;
  const timer = setTimeout(() => {
    timedOut = true;
    kill(abandon);
  }, options.timeoutMs);
  const onAbort = (): void => {
    aborted = true;
    kill(abandon);
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });
  feedStdin(channel, options.stdin, () => kill(abandon));
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
