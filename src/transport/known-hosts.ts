import { createHash, createHmac, randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { matchPatternList } from './patterns.js';

/** One key line of a known_hosts file. */
export interface KnownHostEntry {
  marker: 'revoked' | 'cert-authority' | null;
  /** The host field as written: a comma list of patterns, or one `|1|salt|hash`. */
  hosts: string;
  keyType: string;
  key: Buffer;
  file: string;
  line: number;
}

/** A host key as the server offered it: its type (`ssh-ed25519`) and wire blob. */
export interface HostKey {
  type: string;
  blob: Buffer;
}

export type HostKeyVerdict =
  | { status: 'known'; entry: KnownHostEntry }
  | { status: 'revoked'; entry: KnownHostEntry }
  | { status: 'changed'; entry: KnownHostEntry }
  | { status: 'cert-authority-only'; entry: KnownHostEntry }
  | { status: 'unknown'; otherTypes: KnownHostEntry[] };

export function parseKnownHosts(text: string, file: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  text.split('\n').forEach((raw, index) => {
    const fields = raw.trim().split(/\s+/);
    if (fields[0] === undefined || fields[0] === '' || fields[0].startsWith('#')) return;
    let marker: KnownHostEntry['marker'] = null;
    if (fields[0] === '@revoked' || fields[0] === '@cert-authority') {
      marker = fields.shift() === '@revoked' ? 'revoked' : 'cert-authority';
    } else if (fields[0].startsWith('@')) {
      return;
    }
    const [hosts, keyType, base64] = fields;
    if (hosts === undefined || keyType === undefined || base64 === undefined) return;
    entries.push({ marker, hosts, keyType, key: Buffer.from(base64, 'base64'), file, line: index + 1 });
  });
  return entries;
}

export function readKnownHostsFiles(files: readonly string[]): KnownHostEntry[] {
  return files.flatMap((file) => {
    try {
      return parseKnownHosts(readFileSync(file, 'utf8'), file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
  });
}

/** The name a host goes by in known_hosts: `host` on port 22, `[host]:port` elsewhere. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

export function entryMatchesHost(entry: KnownHostEntry, name: string): boolean {
  if (entry.hosts.startsWith('|1|')) {
    const [, , salt, hash] = entry.hosts.split('|');
    if (salt === undefined || hash === undefined) return false;
    const digest = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
    return digest === hash;
  }
  return matchPatternList(name, entry.hosts.split(','));
}

/**
 * Decides on a host key as OpenSSH does: a revoked key is refused whatever else the
 * files say; a matching plain line accepts; a line for the same host and key type
 * with another key means the key changed; CA lines cannot be checked by ssh2.
 */
export function checkHostKey(entries: readonly KnownHostEntry[], name: string, key: HostKey): HostKeyVerdict {
  const forHost = entries.filter((entry) => entryMatchesHost(entry, name));
  const revoked = forHost.find((e) => e.marker === 'revoked' && e.key.equals(key.blob));
  if (revoked) return { status: 'revoked', entry: revoked };
  const plain = forHost.filter((e) => e.marker === null);
  const known = plain.find((e) => e.keyType === key.type && e.key.equals(key.blob));
  if (known) return { status: 'known', entry: known };
  const changed = plain.find((e) => e.keyType === key.type);
  if (changed) return { status: 'changed', entry: changed };
  const authority = forHost.find((e) => e.marker === 'cert-authority');
  if (authority && plain.length === 0) return { status: 'cert-authority-only', entry: authority };
  return { status: 'unknown', otherTypes: plain };
}

/** `SHA256:...` as ssh-keygen -l prints it. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** Reads the key type from the start of an ssh wire-format public key blob. */
export function keyTypeOfBlob(blob: Buffer): string {
  const length = blob.length >= 4 ? blob.readUInt32BE(0) : 0;
  return blob.subarray(4, 4 + length).toString('latin1');
}

/** `|1|salt|hash` for a name, as `ssh-keygen -H` writes it. */
export function hashHostName(name: string, salt: Buffer = randomBytes(20)): string {
  const hash = createHmac('sha1', salt).update(name).digest('base64');
  return `|1|${salt.toString('base64')}|${hash}`;
}

export function formatKnownHostsLine(name: string, key: HostKey, hashed: boolean): string {
  return `${hashed ? hashHostName(name) : name} ${key.type} ${key.blob.toString('base64')}\n`;
}

/** Appends a line, creating the file (mode 600) and its directory (700) when missing. */
export function appendKnownHost(file: string, name: string, key: HostKey, hashed: boolean): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  appendFileSync(file, (endsMidLine(file) ? '\n' : '') + formatKnownHostsLine(name, key, hashed), { mode: 0o600 });
}

/** A hand-edited file may lack its final newline; the new entry must not join its last line. */
function endsMidLine(file: string): boolean {
  try {
    const size = statSync(file).size;
    return size > 0 && !readFileSync(file).subarray(size - 1).equals(Buffer.from('\n'));
  } catch {
    return false;
  }
}
