import { createHmac, generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { makeHostKeyCheck } from '../../src/transport/host-key-check.js';
import {
  type HostKey,
  appendKnownHost,
  checkHostKey,
  fingerprint,
  knownHostsName,
  parseKnownHosts,
} from '../../src/transport/known-hosts.js';
import { resolveSshHost } from '../../src/transport/ssh-config.js';
import { writeTree } from './temp-files.js';

/** An ed25519 public key in ssh wire format, made fresh for the test. */
function newKey(): HostKey {
  const der = generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' });
  const raw = der.subarray(der.length - 32);
  const string = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
  return { type: 'ssh-ed25519', blob: Buffer.concat([string(Buffer.from('ssh-ed25519')), string(raw)]) };
}

const line = (hosts: string, key: HostKey) => `${hosts} ${key.type} ${key.blob.toString('base64')} comment`;

/** A hashed host field computed here independently, as `ssh-keygen -H` would write it. */
function hashed(name: string): string {
  const salt = randomBytes(20);
  return `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
}

const A = newKey();
const B = newKey();

describe('known_hosts matching', () => {
  it('names non-22 ports as [host]:port', () => {
    expect(knownHostsName('h', 22)).toBe('h');
    expect(knownHostsName('10.0.0.1', 2222)).toBe('[10.0.0.1]:2222');
  });

  it('accepts plain, comma-list, wildcard and hashed entries', () => {
    const entries = parseKnownHosts(
      [
        '# comment',
        line('plain.example', A),
        line('one,two.example,10.1.1.1', A),
        line('*.wild.example,!bad.wild.example', A),
        line(hashed('hashed.example'), A),
        line(hashed('[hashed.example]:2222'), B),
        line('[port.example]:2200', A),
      ].join('\n'),
      'kh',
    );
    for (const name of ['plain.example', 'two.example', '10.1.1.1', 'x.wild.example', 'hashed.example', '[port.example]:2200']) {
      expect(checkHostKey(entries, name, A).status, name).toBe('known');
    }
    expect(checkHostKey(entries, '[hashed.example]:2222', B).status).toBe('known');
    expect(checkHostKey(entries, 'bad.wild.example', A).status).toBe('unknown');
    expect(checkHostKey(entries, 'port.example', A).status).toBe('unknown');
    expect(checkHostKey(entries, '[plain.example]:2200', A).status).toBe('unknown');
  });

  it('reports a changed key with the file and line of the old one', () => {
    const entries = parseKnownHosts(`# x\n${line('h', A)}\n`, '/k/known_hosts');
    const verdict = checkHostKey(entries, 'h', B);
    expect(verdict).toMatchObject({ status: 'changed', entry: { file: '/k/known_hosts', line: 2 } });
  });

  it('refuses a revoked key even when a plain line also lists it', () => {
    const entries = parseKnownHosts(`${line('h', A)}\n@revoked ${line('*', A)}\n`, 'kh');
    expect(checkHostKey(entries, 'h', A)).toMatchObject({ status: 'revoked', entry: { line: 2 } });
  });

  it('cannot vouch through @cert-authority', () => {
    const entries = parseKnownHosts(`@cert-authority ${line('*.example', A)}\n`, 'kh');
    expect(checkHostKey(entries, 'h.example', B).status).toBe('cert-authority-only');
  });

  it('prints fingerprints as ssh-keygen does', () => {
    expect(fingerprint(A.blob)).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
  });
});

describe('host key decisions', () => {
  let remove = () => {};
  afterEach(() => remove());

  function setup(config: string, knownHosts: string) {
    const tree = writeTree({ 'ssh_config': config, 'known_hosts': knownHosts });
    remove = tree.remove;
    const resolved = resolveSshHost('target', { configFile: `${tree.dir}/ssh_config`, home: tree.dir });
    return { dir: tree.dir, resolved };
  }

  const config = (extra = '') => `Host target\n  HostName 10.9.9.9\n  Port 2201\n  UserKnownHostsFile %d/known_hosts\n  GlobalKnownHostsFile none\n${extra}`;

  it('refuses an unknown key naming host, fingerprint and the flag', () => {
    const { resolved } = setup(config(), '');
    const check = makeHostKeyCheck(resolved, false);
    expect(check.verify(A.blob)).toBe(false);
    expect(check.problem).toMatchObject({ code: 'KVMFARM_HOST_KEY', reason: 'host-key' });
    expect(check.problem!.message).toContain('target ([10.9.9.9]:2201)');
    expect(check.problem!.message).toContain(fingerprint(A.blob));
    expect(check.problem!.message).toContain('--accept-new-host-keys');
  });

  it('records an unknown key with acceptNew, hashed when HashKnownHosts says so', () => {
    const { dir, resolved } = setup(config('  HashKnownHosts yes\n'), '# no newline at end');
    expect(makeHostKeyCheck(resolved, true).verify(A.blob)).toBe(true);
    const text = readFileSync(`${dir}/known_hosts`, 'utf8');
    expect(text).toMatch(/^# no newline at end\n\|1\|[^ ]+ ssh-ed25519 /);
    expect(checkHostKey(parseKnownHosts(text, 'kh'), '[10.9.9.9]:2201', A).status).toBe('known');
    expect(makeHostKeyCheck(resolved, false).verify(A.blob)).toBe(true);
  });

  it('honours StrictHostKeyChecking accept-new, but never for a changed key', () => {
    const { dir, resolved } = setup(config('  StrictHostKeyChecking accept-new\n'), line('[10.9.9.9]:2201', A) + '\n');
    const check = makeHostKeyCheck(resolved, true);
    expect(check.verify(B.blob)).toBe(false);
    expect(check.problem!.message).toMatch(new RegExp(`HOST KEY CHANGED.*${dir}/known_hosts:1`));
    expect(check.knownTypes).toEqual(['ssh-ed25519']);
  });

  it('explains that certificates cannot be checked', () => {
    const { resolved } = setup(config(), `@cert-authority ${line('*', A)}\n`);
    const check = makeHostKeyCheck(resolved, false);
    expect(check.verify(B.blob)).toBe(false);
    expect(check.problem!.message).toMatch(/@cert-authority.*cannot check host certificates/);
  });

  it('refuses revoked keys with acceptNew too', () => {
    const { resolved } = setup(config(), `@revoked ${line('*', A)}\n`);
    const check = makeHostKeyCheck(resolved, true);
    expect(check.verify(A.blob)).toBe(false);
    expect(check.problem!.message).toMatch(/@revoked/);
  });

  it('appends plain entries when not hashing', () => {
    const { dir } = setup(config(), '');
    appendKnownHost(`${dir}/sub/kh`, '[h]:2', A, false);
    expect(readFileSync(`${dir}/sub/kh`, 'utf8')).toBe(`[h]:2 ssh-ed25519 ${A.blob.toString('base64')}\n`);
  });
});
