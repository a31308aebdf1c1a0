import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { HostError } from '../../src/transport/index.js';
import { farmConfigText, useFarm } from './farm-fixture.js';

const { farm, connect, writeConfig } = useFarm({ hosts: [{ name: 'h1', cpus: 1 }, { name: 'h2', cpus: 2 }] });

/** A lookup that knows no names: the test asks no DNS server anything. */
const noDns = async (name: string): Promise<never> => {
  throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
};

/** The farm's config with h1's and h2's known_hosts file swapped for another. */
function configWithKnownHosts(name: string, knownHosts: string, extra = ''): string {
  const file = `${farm().dir}/${name}.known_hosts`;
  writeFileSync(file, knownHosts);
  const text = farmConfigText(farm()).replaceAll(farm().knownHostsFile, file).replaceAll('Host ', `${extra}Host `);
  return writeConfig(`${name}.conf`, text);
}

async function fingerprintOf(host: string): Promise<string> {
  const out = await execa('ssh-keygen', ['-lf', `${farm().dir}/${host}/ssh_host_ed25519_key.pub`]);
  return out.stdout.split(' ')[1]!;
}

async function failure(promise: Promise<unknown>): Promise<HostError> {
  const error = await promise.then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(HostError);
  return error as HostError;
}

describe('host keys against known_hosts, for real', () => {
  it('refuses an unknown host key, naming host, fingerprint and the fix', async () => {
    const config = configWithKnownHosts('empty', '');
    const error = await failure(connect('h2', { configFile: config }));
    expect(error).toMatchObject({ code: 'KVMFARM_HOST_KEY', reason: 'host-key' });
    expect(error.message).toContain(`h2 ([${farm().host('h2').address}]:2201)`);
    expect(error.message).toContain(await fingerprintOf('h2'));
    expect(error.message).toContain('--accept-new-host-keys');
    expect(farm().countLogins('h2')).toBe(0);
  });

  it('accepts and records an unknown key with acceptNew, in a form OpenSSH finds', async () => {
    const config = configWithKnownHosts('accept', '');
    const host = await connect('h1', { configFile: config, acceptNewHostKeys: true });
    expect((await host.run(['hostname'], { timeoutMs: 5_000 })).stdout).toBe('h1\n');
    const file = `${farm().dir}/accept.known_hosts`;
    const found = await execa('ssh-keygen', ['-F', farm().host('h1').address, '-f', file]);
    expect(found.stdout).toContain(farm().host('h1').hostKey);
    const again = await connect('h1', { configFile: config });
    expect((await again.run(['true'], { timeoutMs: 5_000 })).exitCode).toBe(0);
  });

  it('honours StrictHostKeyChecking accept-new from the config', async () => {
    const config = configWithKnownHosts('strict-accept', '', 'Host *\n  StrictHostKeyChecking accept-new\n');
    const host = await connect('h2', { configFile: config });
    expect((await host.run(['true'], { timeoutMs: 5_000 })).exitCode).toBe(0);
    expect(readFileSync(`${farm().dir}/strict-accept.known_hosts`, 'utf8')).toContain(`[${farm().host('h2').address}]:2201 ${farm().host('h2').hostKey}`);
  });

  it('refuses a changed key even with acceptNew, naming file and line', async () => {
    const other = `${farm().dir}/other_key`;
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other]);
    const otherKey = readFileSync(`${other}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
    const config = configWithKnownHosts('changed', `# old key\n${farm().host('h1').address} ${otherKey}\n`);
    const error = await failure(connect('h1', { configFile: config, acceptNewHostKeys: true }));
    expect(error.reason).toBe('host-key');
    expect(error.message).toContain('HOST KEY CHANGED');
    expect(error.message).toContain(`${farm().dir}/changed.known_hosts:2`);
  });

  it('refuses a revoked key', async () => {
    const config = configWithKnownHosts('revoked', `@revoked * ${farm().host('h1').hostKey}\n${farm().host('h1').address} ${farm().host('h1').hostKey}\n`);
    const error = await failure(connect('h1', { configFile: config }));
    expect(error.message).toMatch(/@revoked .*revoked.known_hosts:1/);
  });
});

describe('connection failures with reasons a person can act on', () => {
  let silent: Server | undefined;
  afterAll(() => silent?.close());

  it('says connection refused', async () => {
    const h1 = farm().host('h1');
    const error = await failure(connect(`root@${h1.address}:2299`));
    expect(error).toMatchObject({ code: 'KVMFARM_HOST_UNREACHABLE', reason: 'refused' });
    expect(error.message).toMatch(/connection refused.*is sshd running/);
  });

  it('says the name does not resolve', async () => {
    const config = writeConfig('nodns.conf', 'Host ghost\n  HostName ghost.kvmfarm.invalid\n');
    const error = await failure(connect('ghost', { configFile: config, lookup: noDns }));
    expect(error).toMatchObject({ reason: 'dns' });
    expect(error.message).toContain('ghost.kvmfarm.invalid does not resolve');
  });

  it('says timeout when nothing answers the handshake, within the limit', async () => {
    const h1 = farm().host('h1');
    silent = createServer(() => {});
    await new Promise<void>((resolve) => silent!.listen(2298, h1.hostAddress, resolve));
    const started = performance.now();
    const error = await failure(connect(`root@${h1.hostAddress}:2298`, { connectTimeoutMs: 1_500 }));
    const waited = performance.now() - started;
    expect(error).toMatchObject({ reason: 'timeout' });
    expect(waited).toBeGreaterThan(1_400);
    expect(waited).toBeLessThan(4_000);
    console.log(`handshake timeout reported after ${waited.toFixed(0)} ms (limit 1500 ms)`);
  });

  it('says auth refused when no offered key is authorized', async () => {
    const stranger = `${farm().dir}/stranger_key`;
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', stranger]);
    const config = writeConfig('stranger.conf', farmConfigText(farm()).replaceAll(farm().clientKey, stranger));
    const error = await failure(connect('h1', { configFile: config }));
    expect(error).toMatchObject({ reason: 'auth' });
    expect(error.message).toMatch(/refused every key offered/);
  });
});

describe('host names with shell syntax', () => {
  const names = [
    'h1;touch /tmp/kvmfarm-pwned-name1',
    '$(touch /tmp/kvmfarm-pwned-name2)',
    '`touch /tmp/kvmfarm-pwned-name3`',
    'h1&&touch${IFS}/tmp/kvmfarm-pwned-name4',
    '-oProxyCommand=touch /tmp/kvmfarm-pwned-name5',
  ];
  const pwned = [1, 2, 3, 4, 5, 6, 7].map((i) => `/tmp/kvmfarm-pwned-name${i}`);

  it('never reach a shell: refused as names, as HostName and as a user, and nothing runs', async () => {
    for (const name of names) {
      const error = await failure(connect(name, { lookup: noDns }));
      expect(error.reason).toBe('bad-name');
    }
    const config = writeConfig('evil.conf', 'Host evil\n  HostName "$(touch /tmp/kvmfarm-pwned-name6)"\n');
    expect((await failure(connect('evil', { configFile: config, lookup: noDns }))).reason).toBe('bad-name');
    const user = await failure(connect(`$(touch /tmp/kvmfarm-pwned-name7)@${farm().host('h1').address}`, {
      configFile: farm().configFile,
      acceptNewHostKeys: false,
    }).catch((e: unknown) => Promise.reject(e)));
    expect(['auth', 'host-key']).toContain(user.reason);
    for (const file of pwned) {
      expect(existsSync(file)).toBe(false);
      for (const h of farm().hosts) expect(await farm().inside(h.name, ['ls', '-a', '/tmp'])).not.toContain('pwned');
    }
  });
});
