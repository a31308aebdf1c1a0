import { DEFAULTS } from '../options/defaults.js';
import { lookup as systemLookup } from 'node:dns/promises';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import ssh2, { Client, type AnyAuthMethod, type AuthenticationType, type ConnectConfig } from 'ssh2';
import { HostError, classifyConnectError } from './host-errors.js';
import { checkHostName, makeHostKeyCheck } from './host-key-check.js';
import type { ResolvedHost } from './ssh-config.js';

export interface ConnectOptions {
  /** Record unknown host keys in the user known_hosts file instead of refusing them. */
  acceptNewHostKeys?: boolean;
  /** ssh-agent socket; defaults to SSH_AUTH_SOCK. null: use no agent. */
  agent?: string | null;
  /** Handshake limit when the config has no ConnectTimeout. */
  connectTimeoutMs?: number;
  /** Keepalive when the config has no ServerAliveInterval / ServerAliveCountMax. */
  keepaliveIntervalMs?: number;
  keepaliveCountMax?: number;
  /** Name lookup (default: the system resolver, as ssh uses); tests pass one that asks no server. */
  lookup?: (hostname: string) => Promise<{ address: string }>;
}

export const DEFAULT_CONNECT_TIMEOUT_MS = DEFAULTS.connectTimeoutMs;
export const DEFAULT_KEEPALIVE_INTERVAL_MS = 5_000;
export const DEFAULT_KEEPALIVE_COUNT_MAX = 3;

/** Server host key algorithms ssh2 offers, strongest first; known types for a host move ahead. */
const HOST_KEY_ALGORITHMS = [
  'ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521',
  'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa',
] as const;

export interface Connection {
  client: Client;
  connectMs: number;
  keepaliveIntervalMs: number;
  keepaliveCountMax: number;
}

/**
 * Opens one authenticated ssh2 connection to a resolved host, verifying its host key
 * against known_hosts. `sock` carries the connection through a jump host. Rejects
 * with a HostError whose reason says what to fix.
 */
export async function openConnection(resolved: ResolvedHost, options: ConnectOptions = {}, sock?: Duplex): Promise<Connection> {
  checkHostName(resolved);
  const started = performance.now();
  const timeoutMs = resolved.connectTimeoutMs ?? options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const keepaliveIntervalMs = resolved.serverAliveIntervalMs ?? options.keepaliveIntervalMs ?? DEFAULT_KEEPALIVE_INTERVAL_MS;
  const keepaliveCountMax = resolved.serverAliveCountMax ?? options.keepaliveCountMax ?? DEFAULT_KEEPALIVE_COUNT_MAX;
  const hostKey = makeHostKeyCheck(resolved, options.acceptNewHostKeys ?? false);
  const target = `${resolved.hostName}:${resolved.port}`;
  // Through a jump host the name is looked up at the far end, as ssh -J does.
  const address = sock || isIP(resolved.hostName) ? resolved.hostName : await lookUp(resolved, options, target, timeoutMs);
  const auth = authMethods(resolved, options.agent === undefined ? process.env.SSH_AUTH_SOCK : options.agent);
  const client = new Client();
  const config: ConnectConfig = {
    host: address,
    port: resolved.port,
    username: resolved.user,
    readyTimeout: timeoutMs,
    keepaliveInterval: keepaliveIntervalMs,
    keepaliveCountMax,
    hostVerifier: (blob: Buffer) => {
      try {
        return hostKey.verify(blob);
      } catch (error) {
        hostKey.problem = new HostError('host-key', resolved.alias, `${resolved.alias}: could not record the host key in ${resolved.userKnownHostsFiles[0]}: ${(error as Error).message}`, { cause: error });
        return false;
      }
    },
    // ssh2 takes false for "no more methods", which its types leave out.
    authHandler: (_left, _partial, next) => next(auth.shift() ?? (false as unknown as AuthenticationType)),
    algorithms: {
      serverHostKey: [
        ...HOST_KEY_ALGORITHMS.filter((a) => hostKey.knownTypes.includes(a)),
        ...HOST_KEY_ALGORITHMS.filter((a) => !hostKey.knownTypes.includes(a)),
      ],
    },
  };
  if (sock) config.sock = sock;
  return new Promise((resolve, reject) => {
    // ssh2's readyTimeout covers TCP connect, handshake and auth; this only guards against a hang past it.
    const guard = setTimeout(() => fail(new Error('Timed out while waiting for handshake')), timeoutMs + 2_000);
    const fail = (error: unknown): void => {
      clearTimeout(guard);
      client.removeAllListeners('ready');
      client.on('error', () => {});
      client.end();
      reject(hostKey.problem ?? (error instanceof HostError ? error : classifyConnectError(error, resolved.alias, target, timeoutMs)));
    };
    client.once('error', fail);
    client.once('close', () => fail(hostKey.problem ?? new HostError('lost', resolved.alias, `${resolved.alias}: ${target} closed the connection during the ssh handshake`)));
    client.once('ready', () => {
      clearTimeout(guard);
      client.removeListener('error', fail);
      // An 'error' with no listener would crash the process: a jump host has no other
      // listener, and its loss reaches the target as the target's own 'close'.
      client.on('error', () => {});
      client.removeAllListeners('close');
      // Each command is a few small packets each way; Nagle plus delayed ACKs would add ~40 ms to it.
      client.setNoDelay(true);
      resolve({ client, connectMs: performance.now() - started, keepaliveIntervalMs, keepaliveCountMax });
    });
    client.connect(config);
  });
}

async function lookUp(resolved: ResolvedHost, options: ConnectOptions, target: string, timeoutMs: number): Promise<string> {
  const lookup = options.lookup ?? ((name: string) => systemLookup(name));
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error('name lookup timed out'), { code: 'EAI_AGAIN' })), timeoutMs);
  });
  try {
    return (await Promise.race([lookup(resolved.hostName), limit])).address;
  } catch (error) {
    throw classifyConnectError(error, resolved.alias, resolved.hostName, timeoutMs);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The keys to offer, in ssh's order: agent keys (unless IdentitiesOnly), then
 * identity files that exist and need no passphrase. Missing default files are
 * skipped silently, as ssh does.
 */
function authMethods(resolved: ResolvedHost, agent: string | undefined | null): AnyAuthMethod[] {
  const username = resolved.user;
  const methods: AnyAuthMethod[] = [];
  if (agent && !resolved.identitiesOnly) methods.push({ type: 'agent', username, agent });
  for (const file of resolved.identityFiles) {
    let text: Buffer;
    try {
      text = readFileSync(file);
    } catch {
      continue;
    }
    const parsed = ssh2.utils.parseKey(text);
    if (parsed instanceof Error) continue;
    methods.push({ type: 'publickey', username, key: text });
  }
  return methods;
}
