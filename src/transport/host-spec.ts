import { KvmFarmError } from '../util/errors.js';

/** `user@host:port` taken apart; missing parts are undefined so config can fill them. */
export interface HostSpec {
  user?: string;
  host: string;
  port?: number;
}

/**
 * Parses `host`, `user@host`, `host:port`, `user@[v6addr]:port` and `ssh://user@host:port`.
 * The user ends at the last `@`; a bare IPv6 address (several colons) has no port.
 */
export function parseHostSpec(spec: string): HostSpec {
  let rest = spec.startsWith('ssh://') ? spec.slice(6).replace(/\/$/, '') : spec;
  let user: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    user = rest.slice(0, at);
    rest = rest.slice(at + 1);
    if (user === '') throw badSpec(spec, 'the user before "@" is empty');
  }
  let host = rest;
  let portText: string | undefined;
  const bracket = /^\[([^\]]+)\](?::(.*))?$/.exec(rest);
  if (bracket) {
    host = bracket[1]!;
    portText = bracket[2];
  } else if ((rest.match(/:/g) ?? []).length === 1) {
    [host, portText] = rest.split(':') as [string, string];
  }
  if (host === '') throw badSpec(spec, 'the host name is empty');
  const result: HostSpec = { host };
  if (user !== undefined) result.user = user;
  if (portText !== undefined) result.port = parsePort(portText, spec);
  return result;
}

export function parsePort(text: string, context: string): number {
  const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(port >= 1 && port <= 65535)) {
    throw badSpec(context, `"${text}" is not a port number (1-65535)`);
  }
  return port;
}

function badSpec(spec: string, why: string): KvmFarmError {
  return new KvmFarmError(
    'KVMFARM_BAD_ARGUMENT',
    `host "${spec}": ${why}; write it as host, user@host or user@host:port`,
  );
}
