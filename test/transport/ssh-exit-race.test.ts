/**
 * A fast command's exit status can reach the client in the same read as the reply to
 * its exec request: ssh2 then handles both before any promise continues. An in-process
 * ssh2 server sends them in one write on purpose, and closes the channel a moment later,
 * as sshd did for a probe's mkdir on a farm host. (The namespace farm tests cover real sshd.)
 */
import { createServer, type AddressInfo, type Socket } from 'node:net';
import ssh2, { Client, Server, type ServerChannel } from 'ssh2';
import { afterEach, describe, expect, it } from 'vitest';
import type { ResolvedHost } from '../../src/transport/ssh-config.js';
import { SshHost } from '../../src/transport/ssh-host.js';

const START_LINE_WORD = /kvmfarm-start-[0-9a-f]+/;
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** A server whose every exec prints the command's start line and `output`, then exits `code` in the same tick; the close follows after `closeAfterMs`. */
async function fastExitServer(code: number, output: string, closeAfterMs: number): Promise<number> {
  const hostKey = ssh2.utils.generateKeyPairSync('ed25519').private;
  let socket: Socket | undefined;
  const server = new Server({ hostKeys: [hostKey] }, (client) => {
    client.on('authentication', (ctx) => ctx.accept());
    client.on('session', (accept) => {
      accept().on('exec', (acceptExec, _reject, info) => {
        // Corked: the exec reply, the output and the exit status leave in one write, as sshd's buffered loop sends them.
        socket!.cork();
        const stream: ServerChannel = acceptExec();
        stream.write(`${START_LINE_WORD.exec(info.command)![0]}\n${output}`);
        stream.exit(code);
        setImmediate(() => socket!.uncork());
        setTimeout(() => stream.end(), closeAfterMs);
      });
    });
  });
  const tcp = createServer((s) => {
    socket = s;
    server.injectSocket(s);
  });
  await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => {
    socket?.destroy();
    tcp.close();
  });
  return (tcp.address() as AddressInfo).port;
}

async function connect(port: number): Promise<SshHost> {
  const client = new Client();
  await new Promise<void>((resolve, reject) => {
    client.once('ready', resolve).once('error', reject);
    client.connect({ host: '127.0.0.1', port, username: 'farm', hostVerifier: () => true });
  });
  client.setNoDelay(true);
  const resolved = { alias: 'racer', hostName: '127.0.0.1', port, user: 'farm' } as ResolvedHost;
  const host = new SshHost(resolved, { client, connectMs: 0, keepaliveIntervalMs: 5_000, keepaliveCountMax: 3 }, [], 4);
  cleanups.push(() => void host.close());
  return host;
}

describe('SshHost: an exit status that arrives with the exec reply', () => {
  it('run() keeps the exit code and the output of a command that ends at once', async () => {
    const host = await connect(await fastExitServer(3, 'made\n', 50));
    for (let i = 0; i < 5; i += 1) {
      const result = await host.run(['mkdir', '-p', '--', '/tmp/kvm-farm'], { timeoutMs: 10_000 });
      expect([result.exitCode, result.signal, result.stdout]).toEqual([3, null, 'made\n']);
    }
  });

  it('spawn() keeps the exit code too', async () => {
    const host = await connect(await fastExitServer(0, '', 50));
    const child = await host.spawn(['true'], { timeoutMs: 10_000 });
    child.stdout.resume();
    child.stderr.resume();
    expect(await child.exited).toEqual({ exitCode: 0, signal: null });
  });
});
