import { EventEmitter } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import type { Client, ClientChannel } from 'ssh2';
import { type ChannelKiller, KILL_GRACE_MS, collectChannel, interrupted, sendSignal, watchExit, type WatchedExit } from './channel-run.js';
import { type ConnectOptions, type Connection, openConnection } from './connect.js';
import { HostError } from './host-errors.js';
import { PreambleSplitter, frameCommand, loginShellReport, stripPreamble } from './login-shell.js';
import { quoteWord } from './quote.js';
import { Slots } from './slots.js';
import { type ResolveOptions, type ResolvedHost, resolveSshHost } from './ssh-config.js';
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

export interface SshHostOptions extends ConnectOptions, ResolveOptions {
  /** Most channels open at once; sshd's MaxSessions defaults to 10. */
  maxChannels?: number;
}

/**
 * Kills every process whose environment carries the command's marker: the program
 * and whatever it started. sshd refuses signal requests in root sessions ("session
 * signalling requires privilege separation"), so this second channel is what makes a
 * timeout on a root login end the program. A fixed script; marker and signal are $1, $2.
 */
const SWEEP_SCRIPT =
  'for p in /proc/[0-9]*; do ' +
  'if tr "\\000" "\\n" < "$p/environ" 2>/dev/null | grep -qx "KVMFARM_CMD=$1"; then kill -s "$2" "${p#/proc/}" 2>/dev/null; fi; ' +
  'done; exit 0';

export interface SshHostEvents {
  /** The connection dropped without close() being called (keepalive timeout, reset). */
  lost: [error: HostError];
  /** The connection is gone, whether lost or closed. */
  close: [];
}

/**
 * Connects to `spec` (`user@host:port`, an alias in the ssh config) with one
 * persistent connection that every command and transfer reuses as an exec channel.
 * ProxyJump hosts are reached in turn through forwarded channels.
 */
export async function connectSshHost(spec: string, options: SshHostOptions = {}): Promise<SshHost> {
  const resolved = resolveSshHost(spec, options);
  // A jump host's own ProxyJump is not followed: the chain is the target's list, in order.
  const hops = [...resolved.proxyJump.map((jump) => resolveSshHost(jump, options)), resolved];
  const jumps: Connection[] = [];
  try {
    let sock: ClientChannel | undefined;
    for (const [index, hop] of hops.entries()) {
      const connection = await openConnection(hop, options, sock);
      const next = hops[index + 1];
      if (next === undefined) return new SshHost(resolved, connection, jumps, options.maxChannels ?? 8);
      jumps.push(connection);
      sock = await forward(connection.client, hop.alias, next.hostName, next.port);
    }
    throw new Error('unreachable: the last hop returns');
  } catch (error) {
    for (const jump of jumps) jump.client.end();
    throw error;
  }
}

function forward(client: Client, via: string, host: string, port: number): Promise<ClientChannel> {
  return new Promise((resolve, reject) => {
    client.forwardOut('127.0.0.1', 0, host, port, (error, channel) => {
      if (error) reject(new HostError('unreachable', via, `${via}: jump host could not reach ${host}:${port}: ${error.message}`, { cause: error }));
      else resolve(channel);
    });
  });
}

/** An exec channel with its exit watched from the moment it opened. */
interface OpenedChannel {
  channel: ClientChannel;
  watched: WatchedExit;
}

export class SshHost extends EventEmitter<SshHostEvents> implements Host {
  readonly name: string;
  readonly resolved: ResolvedHost;
  /** How long connecting took, handshake and auth included. */
  readonly connectMs: number;
  private readonly client: Client;
  private readonly slots: Slots;
  private failure: HostError | null = null;
  private closing = false;
  private readonly closed: Promise<void>;

  constructor(resolved: ResolvedHost, connection: Connection, private readonly jumps: Connection[], maxChannels: number) {
    super();
    this.name = resolved.alias;
    this.resolved = resolved;
    this.connectMs = connection.connectMs;
    this.client = connection.client;
    this.slots = new Slots(maxChannels);
    const keepalive = `${connection.keepaliveCountMax} keepalives, one every ${connection.keepaliveIntervalMs} ms`;
    this.client.on('error', (error: Error & { level?: string }) => {
      const why = error.level === 'client-timeout' ? `no answer to ${keepalive}` : error.message;
      this.failure ??= new HostError('lost', this.name, `${this.name}: connection to ${resolved.hostName}:${resolved.port} lost: ${why}`, { cause: error });
    });
    this.closed = new Promise((resolve) => {
      this.client.once('close', () => {
        for (const jump of this.jumps) jump.client.end();
        if (!this.closing) {
          this.failure ??= new HostError('lost', this.name, `${this.name}: connection to ${resolved.hostName}:${resolved.port} closed by the other end`);
          this.emit('lost', this.failure);
        }
        this.failure ??= new HostError('closed', this.name, `${this.name}: the connection was closed by kvm-farm`);
        this.emit('close');
        resolve();
      });
    });
  }

  /** Why the connection is unusable, or null while it is up. */
  get lostError(): HostError | null {
    return this.failure;
  }

  async run(words: string[], options: RunOptions = { timeoutMs: DEFAULT_RUN_TIMEOUT_MS }): Promise<CmdResult> {
    const { command, marker, startLine } = frameCommand(words);
    const started = performance.now();
    if (options.signal?.aborted) throw interrupted(words, this.name);
    const release = await this.slots.acquire();
    try {
      const execAt = performance.now();
      const { channel, watched } = await this.exec(command);
      const kill: ChannelKiller = (abandon) => this.kill(channel, marker, 'SIGKILL', abandon);
      const out = new PreambleSplitter(startLine);
      const err = new PreambleSplitter(startLine);
      const result = await collectChannel(channel, watched, words, this.name, options, started, kill, {
        stdout: (chunk) => out.feed(chunk),
        stderr: (chunk) => err.feed(chunk),
      });
      return { ...result, loginShell: loginShellReport(out, err, execAt) };
    } finally {
      release();
    }
  }

  async spawn(words: string[], options: SpawnOptions = {}): Promise<SpawnHandle> {
    const { command, marker, startLine } = frameCommand(words);
    const release = await this.slots.acquire();
    const execAt = performance.now();
    const { channel, watched: { exit, abandon } } = await this.exec(command).catch((error: unknown) => {
      release();
      throw error;
    });
    const out = new PreambleSplitter(startLine);
    const err = new PreambleSplitter(startLine);
    const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => this.kill(channel, marker, 'SIGKILL', abandon), options.timeoutMs);
    const onAbort = (): void => this.kill(channel, marker, 'SIGKILL', abandon);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const exited: Promise<ExitStatus> = exit
      .then(({ exitCode, signal }) => ({ exitCode, signal }))
      .finally(() => {
        release();
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
      });
    exited.catch(() => {});
    return {
      command: words,
      stdin: channel,
      stdout: stripPreamble(channel, out),
      stderr: stripPreamble(channel.stderr, err),
      exited,
      kill: (signal = 'SIGTERM') => this.kill(channel, marker, signal),
      loginShell: () => loginShellReport(out, err, execAt),
    };
  }

  putStream(remotePath: string, source: Readable | Buffer, options: TransferOptions): Promise<CmdResult> {
    return putViaCat(this, remotePath, source, options);
  }

  getStream(remotePath: string, destination: Writable, options: TransferOptions): Promise<CmdResult> {
    return getViaCat(this, remotePath, destination, options);
  }

  /** Ends the connection; waits at most 5 s for the server to close it politely. */
  async close(): Promise<void> {
    if (this.closing) return this.closed;
    this.closing = true;
    this.client.end();
    const timer = setTimeout(() => this.client.destroy(), 5_000);
    await this.closed;
    clearTimeout(timer);
  }

  /**
   * Signals a program by the protocol request (honoured for non-root logins) and by
   * the marker sweep; with `abandon`, also closes the channel and stops waiting.
   */
  private kill(channel: ClientChannel, marker: string, signal: string, abandon?: () => void): void {
    sendSignal(channel, signal);
    if (!this.failure) {
      const sweep = ['sh', '-c', SWEEP_SCRIPT, 'sh', marker, signal.replace(/^SIG/, '')].map(quoteWord).join(' ');
      this.client.exec(sweep, (error, sweeper) => {
        if (error) return;
        sweeper.resume();
        sweeper.stderr.resume();
        sweeper.end();
      });
    }
    if (abandon) {
      setTimeout(() => channel.close(), KILL_GRACE_MS).unref();
      setTimeout(abandon, 2 * KILL_GRACE_MS).unref();
    }
  }

  private exec(command: string): Promise<OpenedChannel> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.client.exec(command, (error, channel) => {
        if (error) reject(this.failure ?? new HostError('lost', this.name, `${this.name}: could not open a channel: ${error.message}`, { cause: error }));
        else resolve({ channel, watched: watchExit(channel, () => this.failure) });
      });
    });
  }
}
