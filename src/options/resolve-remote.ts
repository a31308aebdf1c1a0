import type { RemoteOptions } from '../farm/types.js';
import { KvmFarmError } from '../util/errors.js';
import { DEFAULTS } from './defaults.js';
import { checkNumber } from './limits.js';

/** kvm-remote's own settings with every default filled in. */
export interface RemoteSettings {
  remoteDir: string;
  retries: number;
  minHosts: number;
  gatherTimeoutMs: number;
  connectTimeoutMs: number;
  shipTimeoutMs: number;
  shipConcurrency?: number;
  lostGraceMs: number;
}

/**
 * A host word as the user typed it. Its characters are checked once ssh's config has
 * resolved it (transport/host-key-check.ts); what no config can turn into a host, an
 * empty word, "." or "..", or a word too long for any name, is refused here first.
 */
export function checkHostWord(word: string): string {
  if (word === '' || word === '.' || word === '..' || word.length > 255) {
    throw new KvmFarmError('KVMFARM_BAD_ARGUMENT', `host "${word.slice(0, 80)}" is not a host name or address: write host, user@host or user@host:port`);
  }
  return word;
}

/** Checks kvm-remote's settings once and fills their defaults, whichever door the options came through. */
export function resolveRemoteSettings(options: Pick<RemoteOptions, 'hosts' | 'slurm' | 'remoteDir' | 'retries' | 'minHosts' | 'gatherTimeoutMs' | 'connectTimeoutMs' | 'shipTimeoutMs' | 'shipConcurrency' | 'lostGraceMs'>): RemoteSettings {
  options.hosts.forEach(checkHostWord);
  if (options.slurm && options.hosts.length > 0) throw new KvmFarmError('KVMFARM_BAD_ARGUMENT', `--slurm takes its hosts from the allocation: drop the host list "${options.hosts.join(' ')}"`);
  // With --slurm the hosts are known once the allocation is granted; --min-hosts is checked again then.
  const hostCount = options.slurm && options.hosts.length === 0 ? Math.max(1, options.minHosts ?? 1) : options.hosts.length;
  const minHosts = options.minHosts ?? hostCount;
  if (!Number.isSafeInteger(minHosts) || minHosts < 1 || minHosts > hostCount) {
    throw new KvmFarmError('KVMFARM_BAD_ARGUMENT', `--min-hosts ${minHosts}: must be a whole number from 1 to ${hostCount}, the number of hosts listed`);
  }
  const settings: RemoteSettings = {
    remoteDir: options.remoteDir ?? DEFAULTS.remoteDir,
    retries: checkNumber('retries', '--retries', options.retries ?? DEFAULTS.retries),
    minHosts,
    gatherTimeoutMs: checkNumber('gatherTimeoutMs', '--gather-timeout', options.gatherTimeoutMs ?? DEFAULTS.gatherTimeoutMs),
    connectTimeoutMs: checkNumber('connectTimeoutMs', 'connect timeout', options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs),
    shipTimeoutMs: checkNumber('shipTimeoutMs', 'ship timeout', options.shipTimeoutMs ?? DEFAULTS.shipTimeoutMs),
    lostGraceMs: checkNumber('lostGraceMs', '--lost-grace', options.lostGraceMs ?? DEFAULTS.lostGraceMs),
  };
  if (options.shipConcurrency !== undefined) settings.shipConcurrency = checkNumber('shipConcurrency', '--ship-concurrency', options.shipConcurrency);
  return settings;
}
