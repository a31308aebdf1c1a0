import { HostError } from './host-errors.js';
import {
  type HostKey,
  appendKnownHost,
  checkHostKey,
  fingerprint,
  keyTypeOfBlob,
  knownHostsName,
  readKnownHostsFiles,
} from './known-hosts.js';
import type { ResolvedHost } from './ssh-config.js';

/** What the verifier decided, so the connect error can say it instead of ssh2's bare "verification failed". */
export interface HostKeyCheck {
  verify(blob: Buffer): boolean;
  problem: HostError | null;
  /** Key types already known for this host, to ask the server for those first as ssh does. */
  knownTypes: string[];
}

/**
 * Builds ssh2's hostVerifier from the known_hosts files of a resolved host. An
 * unknown key is accepted (and recorded) only with acceptNew or StrictHostKeyChecking
 * no/accept-new; a changed or revoked key never is.
 */
export function makeHostKeyCheck(resolved: ResolvedHost, acceptNew: boolean): HostKeyCheck {
  const files = [...resolved.userKnownHostsFiles, ...resolved.globalKnownHostsFiles];
  const entries = readKnownHostsFiles(files);
  const name = resolved.hostKeyAlias ?? knownHostsName(resolved.hostName, resolved.port);
  const who = resolved.alias === resolved.hostName ? name : `${resolved.alias} (${name})`;
  const check: HostKeyCheck = {
    problem: null,
    knownTypes: [...new Set(entries.filter((e) => e.marker === null && matchesName(e, name)).map((e) => e.keyType))],
    verify(blob) {
      const key: HostKey = { type: keyTypeOfBlob(blob), blob };
      const print = fingerprint(blob);
      const verdict = checkHostKey(entries, name, key);
      const fail = (message: string): boolean => {
        check.problem = new HostError('host-key', resolved.alias, message);
        return false;
      };
      switch (verdict.status) {
        case 'known':
          return true;
        case 'revoked':
          return fail(`${who}: host key ${key.type} ${print} is marked @revoked in ${verdict.entry.file}:${verdict.entry.line}; refusing to connect`);
        case 'changed':
          return fail(`${who}: HOST KEY CHANGED: the server offered ${key.type} ${print}, but ${verdict.entry.file}:${verdict.entry.line} holds another key. ` +
            `This may be an attack, or the host was reinstalled. If you know why, remove that line (ssh-keygen -R '${name}' -f ${verdict.entry.file}) and connect again`);
        case 'cert-authority-only':
          return fail(`${who}: ${verdict.entry.file}:${verdict.entry.line} trusts a @cert-authority for this host, and kvm-farm cannot check host certificates. ` +
            `Add the host's own key (${key.type} ${print}) to ${resolved.userKnownHostsFiles[0] ?? 'known_hosts'}, or use --accept-new-host-keys`);
        case 'unknown': {
          const strict = resolved.strictHostKeyChecking;
          if (acceptNew || strict === 'no' || strict === 'accept-new') {
            const file = resolved.userKnownHostsFiles[0];
            if (file !== undefined) appendKnownHost(file, name, key, resolved.hashKnownHosts);
            return true;
          }
          const also = verdict.otherTypes.length > 0 ? ` (known there with other key types: ${verdict.otherTypes.map((e) => `${e.keyType} at ${e.file}:${e.line}`).join(', ')})` : '';
          return fail(`${who}: unknown host key ${key.type} ${print}, not in ${files.join(', ') || 'any known_hosts file'}${also}. ` +
            `Check the fingerprint on the host (ssh-keygen -lf /etc/ssh/ssh_host_${key.type.replace(/^ssh-/, '').replace(/-.*/, '')}_key.pub), then connect with --accept-new-host-keys to record it`);
        }
      }
    },
  };
  return check;
}

function matchesName(entry: Parameters<typeof checkHostKey>[0][number], name: string): boolean {
  return checkHostKey([entry], name, { type: entry.keyType, blob: entry.key }).status === 'known';
}

/** Refuses a host name that no resolver would accept and that could mean something to a shell. */
export function checkHostName(resolved: ResolvedHost): void {
  const name = resolved.hostName;
  if (!/^[A-Za-z0-9._:%-]+$/.test(name) || name.startsWith('-')) {
    throw new HostError('bad-name', resolved.alias,
      `${JSON.stringify(resolved.alias)}: ${JSON.stringify(name)} is not a host name or address (only letters, digits, ".", "-", "_" and ":" may appear); check the name or HostName in ${resolved.configFiles.join(', ') || 'your ssh config'}`);
  }
}
