import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { parseHostSpec } from '../../src/transport/host-spec.js';
import { resolveSshHost } from '../../src/transport/ssh-config.js';
import { matchPatternList } from '../../src/transport/patterns.js';
import { writeTree } from './temp-files.js';

let cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups) cleanup();
  cleanups = [];
});

function home(files: Record<string, string>): string {
  const tree = writeTree(files);
  cleanups.push(tree.remove);
  return tree.dir;
}

const opts = (dir: string) => ({ home: dir, localUser: 'me', systemConfigFile: null });

describe('parseHostSpec', () => {
  it('takes user@host:port apart', () => {
    expect(parseHostSpec('h')).toEqual({ host: 'h' });
    expect(parseHostSpec('u@h')).toEqual({ user: 'u', host: 'h' });
    expect(parseHostSpec('u@h:2222')).toEqual({ user: 'u', host: 'h', port: 2222 });
    expect(parseHostSpec('a@b@h:22')).toEqual({ user: 'a@b', host: 'h', port: 22 });
    expect(parseHostSpec('[::1]:2200')).toEqual({ host: '::1', port: 2200 });
    expect(parseHostSpec('fe80::1')).toEqual({ host: 'fe80::1' });
    expect(parseHostSpec('ssh://u@h:23')).toEqual({ user: 'u', host: 'h', port: 23 });
  });

  it('refuses bad ports and empty parts with the fix', () => {
    expect(() => parseHostSpec('h:99999')).toThrow(/not a port number.*user@host:port/);
    expect(() => parseHostSpec('h:x')).toThrow(/not a port/);
    expect(() => parseHostSpec('@h')).toThrow(/user before "@" is empty/);
    expect(() => parseHostSpec('u@')).toThrow(/host name is empty/);
  });
});

describe('host patterns', () => {
  it('matches wildcards and lets a negation veto', () => {
    expect(matchPatternList('web1.example', ['*.example'])).toBe(true);
    expect(matchPatternList('WEB1.example', ['web?.EXAMPLE'])).toBe(true);
    expect(matchPatternList('db.example', ['*.example', '!db.*'])).toBe(false);
    expect(matchPatternList('db.example', ['!db.*', '*.example'])).toBe(false);
    expect(matchPatternList('x', ['!y'])).toBe(false);
  });
});

describe('resolveSshHost', () => {
  it('uses defaults when nothing matches', () => {
    const dir = home({});
    const r = resolveSshHost('box', opts(dir));
    expect(r).toMatchObject({ alias: 'box', hostName: 'box', port: 22, user: 'me', proxyJump: [], strictHostKeyChecking: 'ask' });
    expect(r.identityFiles).toContain(`${dir}/.ssh/id_ed25519`);
    expect(r.userKnownHostsFiles).toEqual([`${dir}/.ssh/known_hosts`, `${dir}/.ssh/known_hosts2`]);
    expect(r.explicitIdentity).toBe(false);
  });

  it('takes the first value obtained, accumulates IdentityFile, expands ~ and tokens', () => {
    const dir = home({
      '.ssh/config': [
        'Host web*',
        '  HostName %h.lab.example',
        '  User alice',
        '  Port 2222',
        '  IdentityFile ~/.ssh/id_%r_%h',
        '  IdentityFile "~/keys/with space"',
        'Host *',
        '  User bob',
        '  Port=23',
        '  IdentityFile %d/.ssh/common_%u_%p',
        '  UserKnownHostsFile ~/.ssh/kh_%n %d/other',
        '  StrictHostKeyChecking accept-new',
        '  ConnectTimeout 7',
        '  ServerAliveInterval 2',
        '  ServerAliveCountMax 4',
        '  HashKnownHosts yes',
        '  ProxyJump jumper@gw:2201,gw2',
        '',
      ].join('\n'),
    });
    const r = resolveSshHost('web1', opts(dir));
    expect(r).toMatchObject({
      hostName: 'web1.lab.example',
      user: 'alice',
      port: 2222,
      strictHostKeyChecking: 'accept-new',
      connectTimeoutMs: 7000,
      serverAliveIntervalMs: 2000,
      serverAliveCountMax: 4,
      hashKnownHosts: true,
      proxyJump: ['jumper@gw:2201', 'gw2'],
    });
    expect(r.identityFiles).toEqual([
      `${dir}/.ssh/id_alice_web1.lab.example`,
      `${dir}/keys/with space`,
      `${dir}/.ssh/common_me_2222`,
    ]);
    expect(r.userKnownHostsFiles).toEqual([`${dir}/.ssh/kh_web1`, `${dir}/other`]);
    const other = resolveSshHost('db', opts(dir));
    expect(other).toMatchObject({ hostName: 'db', user: 'bob', port: 23 });
  });

  it('lets user@host:port from the command line beat the config', () => {
    const dir = home({ '.ssh/config': 'Host h\n  User alice\n  Port 2222\n' });
    expect(resolveSshHost('root@h:2200', opts(dir))).toMatchObject({ user: 'root', port: 2200 });
    expect(resolveSshHost('h', opts(dir))).toMatchObject({ user: 'alice', port: 2222 });
  });

  it('follows Include relative to ~/.ssh, with globs, nested, and conditional inside Host', () => {
    const dir = home({
      '.ssh/config': 'Include conf.d/*.conf\nHost only-b\n  Include cond.inc\nHost *\n  User fallback\n',
      '.ssh/conf.d/10-a.conf': 'Host a\n  HostName a.example\n  Include nested/deeper\n',
      '.ssh/conf.d/20-b.conf': 'Host a b\n  Port 2000\n  HostName b.example\n',
      '.ssh/conf.d/ignored.txt': 'Host a\n  User wrong\n',
      '.ssh/nested/deeper': 'Host a\n  User deep\n',
      '.ssh/cond.inc': 'Port 3000\nUser conditional\n',
    });
    expect(resolveSshHost('a', opts(dir))).toMatchObject({ hostName: 'a.example', port: 2000, user: 'deep' });
    expect(resolveSshHost('b', opts(dir))).toMatchObject({ hostName: 'b.example', port: 2000, user: 'fallback' });
    expect(resolveSshHost('only-b', opts(dir))).toMatchObject({ port: 3000, user: 'conditional' });
    expect(resolveSshHost('zzz', opts(dir))).toMatchObject({ port: 22, user: 'fallback' });
  });

  it('reads only the -F file when configFile is given, and says when it is missing', () => {
    const dir = home({ 'farm.conf': 'Host x\n  HostName 10.0.0.1\n', '.ssh/config': 'Host x\n  HostName wrong\n' });
    expect(resolveSshHost('x', { ...opts(dir), configFile: `${dir}/farm.conf` }).hostName).toBe('10.0.0.1');
    expect(() => resolveSshHost('x', { ...opts(dir), configFile: `${dir}/nope` })).toThrow(/does not exist/);
  });

  it('understands minimal Match and never runs Match exec', () => {
    const dir = home({
      '.ssh/config': [
        'Match exec "touch %d/pwned"',
        '  User exec-matched',
        'Match host *.lab originalhost short',
        '  User matched',
        'Host short',
        '  HostName short.lab',
        'Match all',
        '  Port 2022',
      ].join('\n'),
    });
    // HostName is set after the Match line, so "host" still sees "short" there.
    expect(resolveSshHost('short', opts(dir))).toMatchObject({ user: 'me', port: 2022 });
    expect(resolveSshHost('x', opts(dir)).user).toBe('me');
    expect(existsSync(`${dir}/pwned`)).toBe(false);
  });

  it('treats a name full of shell syntax as a plain string to compare', () => {
    const dir = home({ '.ssh/config': 'Host h1*\n  User alice\n  IdentityFile ~/.ssh/k_%h\n' });
    const r = resolveSshHost('h1;touch /tmp/pwned', opts(dir));
    expect(r.hostName).toBe('h1;touch /tmp/pwned');
    expect(r.user).toBe('alice');
    expect(r.identityFiles).toEqual([`${dir}/.ssh/k_h1;touch /tmp/pwned`]);
    expect(resolveSshHost('$(touch /tmp/pwned)', opts(dir)).hostName).toBe('$(touch /tmp/pwned)');
  });

  it('honours none for IdentityFile, UserKnownHostsFile and ProxyJump', () => {
    const dir = home({ '.ssh/config': 'Host *\n  IdentityFile none\n  UserKnownHostsFile none\n  ProxyJump none\n' });
    expect(resolveSshHost('h', opts(dir))).toMatchObject({ identityFiles: [], userKnownHostsFiles: [], proxyJump: [] });
  });
});
