import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { againRun } from '../../src/again/again.js';
import { requireReal } from '../helpers/require.js';
import { nodeArgsForModule } from '../../src/util/module-worker.js';

const tree = requireReal('kernel-tree', 'kernel-build', 'qemu').kernelTree;
const results = mkdtempSync(path.join(os.tmpdir(), 'kvmfarm-int-'));
afterAll(() => rmSync(results, { recursive: true, force: true }));
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** qemu processes whose command line mentions `dir`: a leftover guest of this test. */
async function guestsUnder(dir: string): Promise<string[]> {
  const ps = await execa('ps', ['-eo', 'pid,args'], { reject: false });
  return ps.stdout.split('\n').filter((l) => l.includes('qemu-system') && l.includes(dir));
}

describe('SIGINT during a real kvm-run', () => {
  it('stops every guest, writes what was gathered, marks the run interrupted, and kvm-again can rerun it', async () => {
    const child = execa(
      'node',
      [...nodeArgsForModule(path.join(root, 'test/run/kvm-run-main.ts')),
        '--kernel-dir', tree, '--scenarios', 'bundled', '--configs', 'UP01-SMALL TREE02C-SMALL', '--duration', '60s', '--cpus', '3',
        '--accel', 'tcg', '--results', results, '--datestamp', 'int', '--shutdown-grace', '60'],
      { reject: false, timeout: 10 * 60_000, all: true },
    );
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const limit = setTimeout(() => reject(new Error(`no batch started within 8 minutes:\n${output}`)), 8 * 60_000);
      child.all!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Start batch 1')) {
          clearTimeout(limit);
          resolve();
        }
      });
    });
    await new Promise((r) => setTimeout(r, 8000));
    const signalledAt = Date.now();
    child.kill('SIGINT');
    const result = await child;
    const stopMs = Date.now() - signalledAt;
    console.log(`SIGINT to exit: ${stopMs} ms`);
    expect(result.exitCode, result.all).toBe(130);
    expect(stopMs).toBeLessThan(30_000);
    const runDir = path.join(results, 'int');
    expect(existsSync(path.join(runDir, 'interrupted'))).toBe(true);
    expect(await guestsUnder(runDir)).toEqual([]);
    const summary = JSON.parse(readFileSync(path.join(runDir, 'summary.json'), 'utf8'));
    expect(summary.interrupted).toBe(true);
    for (const x of summary.instances) {
      expect(x.verdict.kind, x.instance).not.toBe('pass');
      expect(x.guest.stopped, x.instance).toBe(true);
      expect(readFileSync(path.join(runDir, x.instance, 'console.log'), 'utf8')).toContain('Linux version');
    }
    // An interrupted run is a fine source for kvm-again.
    const rerun = await againRun({ runDir, results, dryrun: true, durationSeconds: 10 });
    expect(readdirSync(rerun.runDir)).toEqual(expect.arrayContaining(['UP01-SMALL', 'TREE02C-SMALL', 're-run']));
  }, 15 * 60_000);
});
