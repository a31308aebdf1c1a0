import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SlurmNodeHost } from '../../src/slurm/index.js';

/**
 * A stand-in srun on PATH: in `run` mode it runs the step's words here (after `--`),
 * as srun does on the node; in `node-fail` mode it does what srun does when the node
 * dies under a one-task step: says "Node failure" and exits 0 without the program
 * ever ending. The real srun is exercised by test/slurm/slurm-farm.test.ts.
 */
const bin = mkdtempSync(path.join(os.tmpdir(), 'kvmfarm-fake-srun-'));
afterAll(() => rmSync(bin, { recursive: true, force: true }));
writeFileSync(path.join(bin, 'srun'), [
  '#!/bin/sh',
  'while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do shift; done; shift',
  'case "$FAKE_SRUN" in',
  '  node-fail) echo "srun: error: Node failure on n1" >&2; exit 0 ;;',
  '  vanish) exit 0 ;;',
  '  *) SLURM_JOB_ID=7 SLURM_STEP_ID=3 exec "$@" ;;',
  'esac',
].join('\n'));
chmodSync(path.join(bin, 'srun'), 0o755);

function host(mode: string): SlurmNodeHost {
  return new SlurmNodeHost({ jobId: '7', node: 'n1', cpus: 2, env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, FAKE_SRUN: mode } });
}

describe('a Slurm node as a Host: what a step says, not srun\'s exit status', () => {
  it('gives the program\'s own status and output, the wrapper\'s lines taken out', async () => {
    const r = await host('run').run(['sh', '-c', 'echo out; printf "no newline" >&2; exit 3'], { timeoutMs: 10_000 });
    expect(r).toMatchObject({ exitCode: 3, signal: null, stdout: 'out\n', stderr: 'no newline' });
  });

  it('a node failure with srun exiting 0 is a lost node, never a clean exit', async () => {
    const h = host('node-fail');
    const lost: string[] = [];
    h.on('lost', (e) => lost.push(e.message));
    await expect(h.run(['true'], { timeoutMs: 10_000 })).rejects.toMatchObject({ reason: 'lost', message: expect.stringMatching(/Node failure on n1/) });
    expect(lost).toEqual(['n1: srun: error: Node failure on n1']);
    // A lost node runs nothing more until it is connected again.
    await expect(h.spawn(['true'])).rejects.toMatchObject({ reason: 'lost' });
  });

  it('a step that ends silently without its program\'s end is lost too', async () => {
    await expect(host('vanish').run(['true'], { timeoutMs: 10_000 })).rejects.toThrow(/step ended without its program's end \(srun exit 0\)/);
  });

  it('a program that prints the end line itself cannot fake its end: it lacks the nonce', async () => {
    const r = await host('run').run(['sh', '-c', 'echo "KVMFARM_END x 0" >&2; exit 5'], { timeoutMs: 10_000 });
    expect(r).toMatchObject({ exitCode: 5, stderr: 'KVMFARM_END x 0\n' });
  });
});
