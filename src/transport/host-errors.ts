import { KvmFarmError, type KvmFarmErrorCode } from '../util/errors.js';

/**
 * Why a host could not be used, stable for scripts and a fleet layer:
 * - bad-name: the host name holds characters no host name has (never looked up)
 * - dns: the name does not resolve
 * - refused: nothing listens on that port
 * - unreachable: no route to the address
 * - timeout: no ssh handshake within the connect timeout
 * - auth: the server refused every key offered
 * - host-key: the host key is unknown, changed, revoked or uncheckable
 * - lost: an established connection dropped (keepalive timeout, reset)
 * - closed: the host was closed by its owner before this call
 */
export type HostFailureReason =
  | 'bad-name'
  | 'dns'
  | 'refused'
  | 'unreachable'
  | 'timeout'
  | 'auth'
  | 'host-key'
  | 'lost'
  | 'closed';

export class HostError extends KvmFarmError {
  readonly reason: HostFailureReason;
  readonly host: string;

  constructor(reason: HostFailureReason, host: string, message: string, options?: { cause?: unknown }) {
    const code: KvmFarmErrorCode = reason === 'host-key' ? 'KVMFARM_HOST_KEY' : 'KVMFARM_HOST_UNREACHABLE';
    super(code, message, options);
    this.name = 'HostError';
    this.reason = reason;
    this.host = host;
  }
}

export function isHostError(error: unknown): error is HostError {
  return error instanceof HostError;
}

/** What a connection error from ssh2 or the socket means, told so a person can act on it. */
export function classifyConnectError(error: unknown, host: string, target: string, timeoutMs: number): HostError {
  const err = error as NodeJS.ErrnoException & { level?: string };
  const code = err?.code ?? '';
  const message = err?.message ?? String(error);
  const options = { cause: error };
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NONAME' || code === 'EAI_NODATA') {
    return new HostError('dns', host, `${host}: the name ${target} does not resolve (${code}): check HostName in your ssh config or DNS`, options);
  }
  if (code === 'ECONNREFUSED') {
    return new HostError('refused', host, `${host}: connection refused by ${target}: is sshd running there, and is Port right?`, options);
  }
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') {
    return new HostError('unreachable', host, `${host}: no route to ${target} (${code}): is the machine up and on the network?`, options);
  }
  if (code === 'ETIMEDOUT' || /timed out/i.test(message)) {
    return new HostError('timeout', host, `${host}: no ssh handshake from ${target} within ${timeoutMs} ms: is the machine up, and is it sshd on that port? (ConnectTimeout sets the limit)`, options);
  }
  if (err?.level === 'client-authentication') {
    return new HostError('auth', host, `${host}: ${target} refused every key offered: add your public key to the remote authorized_keys, set IdentityFile, or load the key into ssh-agent`, options);
  }
  return new HostError('lost', host, `${host}: connection to ${target} failed: ${message}`, options);
}
