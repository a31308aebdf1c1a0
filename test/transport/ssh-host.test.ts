import { existsSync } from 'node:fs';
import { Readable, Writable } from 'node:stream';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { farmConfigText, useFarm } from './farm-fixture.js';
import { ECHO_WORDS, HOSTILE_WORDS, PWNED_FILES, splitNul } from './hostile-words.js';

const { farm, connect, writeConfig } = useFarm({
  hosts: [
    { name: 'h1', cpus: 1 },
    { name: 'h2', cpus: 2 },
    { name: 'h3', cpus: 1 },
  ],
});

const T = { timeoutMs: 10_000 };

describe('SshHost on a namespace farm', () => {
  it('sees each host with its own CPU count and hostname', async () => {
    for (const [name, cpus] of [['h1', '1'], ['h2', '2'], ['h3', '1']] as const) {
      const host = await connect(name);
      expect((await host.run(['nproc'], T)).stdout).toBe(`${cpus}\n`);
      expect((await host.run(['hostname'], T)).stdout).toBe(`${name}\n`);
      console.log(`connect ${name}: ${host.connectMs.toFixed(1)} ms`);
      await host.close();
    }
  });

  it('gives each host a private /tmp, and moves files both ways', async () => {
    const [h1, h2] = [await connect('h1'), await connect('h2')];
    const path = `/tmp/kvmfarm-marker-${farm().runId}`;
    const put = await h1.putStream(path, Buffer.from('marker\n'), T);
    expect(put.exitCode).toBe(0);
    expect((await h1.run(['cat', path], T)).stdout).toBe('marker\n');
    expect((await h2.run(['test', '-e', path], T)).exitCode).toBe(1);
    expect(existsSync(path)).toBe(false);
    const chunks: Buffer[] = [];
    const sink = new Writable({ write(chunk, _enc, done) { chunks.push(chunk); done(); } });
    const got = await h1.getStream(path, sink, T);
    expect(got.exitCode).toBe(0);
    expect(Buffer.concat(chunks).toString()).toBe('marker\n');
    const missing = await h1.getStream('/tmp/absent', new Writable({ write(_c, _e, done) { done(); } }), T);
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toContain('absent');
  });

  it('delivers hostile words exactly, and nothing they spell runs anywhere', async () => {
    const host = await connect('h2');
    const result = await host.run([...ECHO_WORDS, ...HOSTILE_WORDS], T);
    expect(result.exitCode).toBe(0);
    expect(splitNul(result.stdout)).toEqual(HOSTILE_WORDS);
    const remote = await host.putStream('/tmp/it\'s $(x) `y`; z\nw', Buffer.from('odd path'), T);
    expect(remote.exitCode).toBe(0);
    expect((await host.run(['cat', '/tmp/it\'s $(x) `y`; z\nw'], T)).stdout).toBe('odd path');
    for (const file of PWNED_FILES) {
      expect(existsSync(file)).toBe(false);
      for (const h of farm().hosts) expect((await farm().inside(h.name, ['ls', '/tmp'])).split('\n')).not.toContain(file.slice(5));
    }
  });

  it('reports exit codes, stderr, signals, stdin and timeouts in one result shape', async () => {
    const host = await connect('h1');
    const failed = await host.run(['sh', '-c', 'echo out; echo err >&2; exit 3'], T);
    expect(failed).toMatchObject({ exitCode: 3, signal: null, stdout: 'out\n', stderr: 'err\n', timedOut: false });
    const killed = await host.run(['sh', '-c', 'kill -TERM $$'], T);
    expect(killed).toMatchObject({ exitCode: null, signal: 'SIGTERM' });
    expect((await host.run(['wc', '-c'], { ...T, stdin: Buffer.alloc(100_000, 'x') })).stdout.trim()).toBe('100000');
    expect((await host.run(['cat'], { ...T, stdin: Readable.from(['a', 'b', 'c']) })).stdout).toBe('abc');
    expect((await host.run(['no-such-program-kvmfarm'], T)).exitCode).toBe(127);
    const slow = await host.run(['sleep', '31.4159'], { timeoutMs: 500 });
    expect(slow).toMatchObject({ timedOut: true, exitCode: null, signal: 'SIGKILL' });
    expect(slow.durationMs).toBeLessThan(4_000);
    expect((await farm().inside('h1', ['pgrep', '-f', 'sleep 31.4159']).catch(() => ''))).toBe('');
  });

  it('rejects an aborted run with KVMFARM_INTERRUPTED', async () => {
    const host = await connect('h1');
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    await expect(host.run(['sleep', '30'], { timeoutMs: 10_000, signal: controller.signal })).rejects.toMatchObject({ code: 'KVMFARM_INTERRUPTED' });
  });

  it('spawns long-running helpers whose end arrives as an event', async () => {
    const host = await connect('h2');
    const child = await host.spawn(['sh', '-c', 'read line; echo "got:$line"; exit 7']);
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => { out += chunk; });
    child.stdin.end('hello\n');
    expect(await child.exited).toEqual({ exitCode: 7, signal: null });
    expect(out).toBe('got:hello\n');
    const sleeper = await host.spawn(['sleep', '60']);
    sleeper.stdout.resume();
    setTimeout(() => sleeper.kill('SIGTERM'), 100);
    expect(await sleeper.exited).toEqual({ exitCode: null, signal: 'SIGTERM' });
  });

  it('reuses one connection for every command', async () => {
    const before = farm().countLogins('h3');
    const host = await connect('h3');
    const started = performance.now();
    for (let i = 0; i < 20; i++) expect((await host.run(['true'], T)).exitCode).toBe(0);
    const sequential = 20 / ((performance.now() - started) / 1000);
    const parallelStart = performance.now();
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => host.run(['echo', String(i)], T)));
    const parallel = 20 / ((performance.now() - parallelStart) / 1000);
    expect(results.map((r) => r.stdout)).toEqual(Array.from({ length: 20 }, (_, i) => `${i}\n`));
    expect(farm().countLogins('h3') - before).toBe(1);
    expect(await farm().countConnections('h3')).toBe(1);
    console.log(`one connection: ${sequential.toFixed(0)} commands/s one at a time, ${parallel.toFixed(0)} commands/s 8 at a time`);
  });

  it('reaches a host through ProxyJump', async () => {
    const h1 = farm().host('h1');
    const config = writeConfig('jump.conf', [
      'Host h1-via-jump',
      `  HostName ${h1.address}`,
      '  ProxyJump h1',
      '  HostKeyAlias h1-alias',
      'Host h1-via-jump',
      `  UserKnownHostsFile ${farm().dir}/jump_known_hosts`,
      '  StrictHostKeyChecking accept-new',
      farmConfigText(farm()).replace('Host h1\n', 'Host h1 h1-via-jump\n'),
    ].join('\n'));
    const before = farm().countLogins('h1');
    const host = await connect('h1-via-jump', { configFile: config });
    expect((await host.run(['hostname'], T)).stdout).toBe('h1\n');
    expect(farm().countLogins('h1') - before).toBe(2);
  });

  it('authenticates with a key held by ssh-agent', async () => {
    const socket = `${farm().dir}/agent.sock`;
    const agent = execa('ssh-agent', ['-D', '-a', socket], { reject: false });
    try {
      await new Promise<void>((resolve, reject) => {
        agent.stdout!.once('data', () => resolve());
        setTimeout(() => reject(new Error('ssh-agent did not start in 5 s')), 5_000).unref();
      });
      await execa('ssh-add', ['-q', farm().clientKey], { env: { SSH_AUTH_SOCK: socket } });
      const config = writeConfig('agent.conf', farmConfigText(farm())
        .replaceAll(`  IdentityFile ${farm().clientKey}\n`, '  IdentityFile none\n')
        .replaceAll('IdentitiesOnly yes', 'IdentitiesOnly no'));
      await expect(connect('h1', { configFile: config })).rejects.toMatchObject({ reason: 'auth' });
      const host = await connect('h1', { configFile: config, agent: socket });
      expect((await host.run(['hostname'], T)).stdout).toBe('h1\n');
    } finally {
      agent.kill();
      await agent;
    }
  });
});
