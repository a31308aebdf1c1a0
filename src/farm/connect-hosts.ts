import { checkHostName } from '../transport/host-key-check.js';
import { connectSshHost, LocalHost, resolveSshHost, type Host, type SshHostOptions } from '../transport/index.js';
import { KvmFarmError } from '../util/errors.js';

/** The host name that means this machine: no ssh, guests run as kvm-run runs them. */
export const LOCALHOST = 'localhost';

export interface HostConnectOptions {
  sshConfigFile?: string;
  agent?: string | null;
  acceptNewHostKeys?: boolean;
  connectTimeoutMs?: number;
}

/**
 * Checks every name before any connection is made: one bad name (a typo, shell
 * metacharacters) stops the run before anything runs on any host.
 */
export function checkHostList(hosts: string[], options: HostConnectOptions): void {
  if (hosts.length === 0) throw new KvmFarmError('KVMFARM_BAD_ARGUMENT', 'no hosts given: name at least one, e.g. "h1 h2" or "localhost"');
  const seen = new Set<string>();
  for (const name of hosts) {
    if (seen.has(name)) throw new KvmFarmError('KVMFARM_BAD_ARGUMENT', `host "${name}" is named twice in the host list`);
    seen.add(name);
    if (name === LOCALHOST) continue;
    checkHostName(resolveSshHost(name, options.sshConfigFile ? { configFile: options.sshConfigFile } : {}));
  }
}

/** Connects one host: LocalHost for `localhost`, else one persistent ssh connection. */
export async function connectHost(name: string, options: HostConnectOptions): Promise<Host> {
  if (name === LOCALHOST) return new LocalHost(LOCALHOST);
  const ssh: SshHostOptions = {
    ...(options.sshConfigFile ? { configFile: options.sshConfigFile } : {}),
    ...(options.agent !== undefined ? { agent: options.agent } : {}),
    ...(options.acceptNewHostKeys ? { acceptNewHostKeys: true } : {}),
    ...(options.connectTimeoutMs ? { connectTimeoutMs: options.connectTimeoutMs } : {}),
  };
  return connectSshHost(name, ssh);
}
