import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalHost } from '../../src/transport/index.js';
import { ECHO_WORDS, HOSTILE_WORDS, PWNED_FILES, splitNul } from './hostile-words.js';

const host = new LocalHost();
const T = { timeoutMs: 10_000 };
const dir = mkdtempSync(join(tmpdir(), 'kvmfarm-local-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('LocalHost', () => {
  it('passes words straight to the program', async () => {
    const result = await host.run([...ECHO_WORDS, ...HOSTILE_WORDS], T);
    expect(splitNul(result.stdout)).toEqual(HOSTILE_WORDS);
    for (const file of PWNED_FILES) expect(existsSync(file)).toBe(false);
  });

  it('gives the same result shape as SshHost', async () => {
    expect(await host.run(['sh', '-c', 'echo out; echo err >&2; exit 3'], T)).toMatchObject({
      command: ['sh', '-c', 'echo out; echo err >&2; exit 3'], exitCode: 3, signal: null, stdout: 'out\n', stderr: 'err\n', timedOut: false,
    });
    expect(await host.run(['sh', '-c', 'kill -TERM $$'], T)).toMatchObject({ exitCode: null, signal: 'SIGTERM' });
    expect((await host.run(['no-such-program-kvmfarm'], T)).exitCode).toBe(127);
    const slow = await host.run(['sleep', '30'], { timeoutMs: 300 });
    expect(slow).toMatchObject({ timedOut: true, signal: 'SIGKILL', exitCode: null });
    expect((await host.run(['cat'], { ...T, stdin: Readable.from(['a', 'b']) })).stdout).toBe('ab');
    expect((await host.run(['wc', '-c'], { ...T, stdin: Buffer.alloc(5000) })).stdout.trim()).toBe('5000');
  });

  it('rejects an aborted run with KVMFARM_INTERRUPTED', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    await expect(host.run(['sleep', '30'], { ...T, signal: controller.signal })).rejects.toMatchObject({ code: 'KVMFARM_INTERRUPTED' });
  });

  it('spawns helpers and moves files', async () => {
    const child = await host.spawn(['sh', '-c', 'read l; echo "got:$l"; exit 4']);
    let out = '';
    child.stdout.on('data', (c: Buffer) => { out += c; });
    child.stdin.end('x\n');
    expect(await child.exited).toEqual({ exitCode: 4, signal: null });
    expect(out).toBe('got:x\n');
    const path = join(dir, "odd 'name' $(x)");
    expect((await host.putStream(path, Buffer.from('data'), T)).exitCode).toBe(0);
    expect(readFileSync(path, 'utf8')).toBe('data');
    const chunks: Buffer[] = [];
    await host.getStream(path, new Writable({ write(c, _e, done) { chunks.push(c); done(); } }), T);
    expect(Buffer.concat(chunks).toString()).toBe('data');
  });
});
