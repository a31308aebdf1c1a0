import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { CmdResult, Host, TransferOptions } from './types.js';

/** A fixed script; the path arrives as $1, so it is never parsed by the shell. */
const WRITE_SCRIPT = 'cat > "$1"';

/** Writes a stream to a path on the host through `cat`, over the host's usual command path. */
export function putViaCat(host: Host, path: string, source: Readable | Buffer, options: TransferOptions): Promise<CmdResult> {
  return host.run(['sh', '-c', WRITE_SCRIPT, 'sh', path], { ...options, stdin: source });
}

/** Copies a file on the host into `destination`; the result tells how `cat` ended. */
export async function getViaCat(host: Host, path: string, destination: Writable, options: TransferOptions): Promise<CmdResult> {
  const started = performance.now();
  const words = ['cat', '--', path];
  const child = await host.spawn(words, options);
  const stderr: Buffer[] = [];
  child.stdin.end();
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
  const [, status] = await Promise.all([pipeline(child.stdout, destination), child.exited]);
  return {
    command: words,
    exitCode: status.exitCode,
    signal: status.signal,
    stdout: '',
    stderr: Buffer.concat(stderr).toString('utf8'),
    durationMs: performance.now() - started,
    timedOut: status.signal !== null && performance.now() - started >= options.timeoutMs,
  };
}
