import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { acquireRunLock, runLockPath } from '../../src/rundir/run-lock.js';
import { nodeArgsForModule } from '../../src/util/module-worker.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const base = mkdtempSync(path.join(os.tmpdir(), 'kvmfarm-lock-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
let n = 0;
function dirs() {
  n++;
  const tree = mkdtempSync(path.join(base, `tree${n}-`));
  return { tree, results: path.join(base, `res${n}`) };
}

/** A separate process holding the lock, as another kvm-run would. */
async function holder(tree: string, results: string, mode = ''): Promise<{ child: ResultPromise }> {
  // Returned inside an object: an execa child is a thenable, and an async function would wait for it.
  const child = execa('node', [...nodeArgsForModule(path.join(here, 'lock-holder-main.ts')), tree, results, mode], { reject: false, buffer: true });
  await new Promise<void>((resolve, reject) => {
    const limit = setTimeout(() => reject(new Error('the lock holder did not start')), 20_000);
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('locked')) resolve(clearTimeout(limit));
    });
  });
  return { child };
}

const quiet = { log: () => {} };

describe('the run lock', () => {
  it('refuses a second run on the same tree and results directory, naming the pid and run directory', async () => {
    const { tree, results } = dirs();
    const { child } = await holder(tree, results);
    try {
      await expect(acquireRunLock({ kernelTree: tree, results, killPrevious: false, ...quiet })).rejects.toMatchObject({
        code: 'KVMFARM_RUN_LOCKED',
        message: expect.stringMatching(new RegExp(`pid ${child.pid}, run directory ${results}/held-run\\).*--kill-previous`)),
      });
      // Another tree, or another results directory, is another lock.
      const other = await acquireRunLock({ kernelTree: dirs().tree, results, killPrevious: false, ...quiet });
      other.release();
      const elsewhere = await acquireRunLock({ kernelTree: tree, results: `${results}-2`, killPrevious: false, ...quiet });
      elsewhere.release();
    } finally {
      child.kill('SIGKILL');
      await child;
    }
  }, 60_000);

  it('is free again once its holder dies, even by SIGKILL, and says whose lock it took over', async () => {
    const { tree, results } = dirs();
    const { child } = await holder(tree, results);
    child.kill('SIGKILL');
    await child;
    const lines: string[] = [];
    const lock = await acquireRunLock({ kernelTree: tree, results, killPrevious: false, log: (l) => lines.push(l) });
    expect(lines.join('\n')).toContain(`Taking over the lock of run pid ${child.pid}, which is gone`);
    expect(JSON.parse(readFileSync(lock.path, 'utf8')).pid).toBe(process.pid);
    lock.release();
    // A clean release leaves nothing to take over.
    const again = await acquireRunLock({ kernelTree: tree, results, killPrevious: false, log: (l) => lines.push(l) });
    again.release();
    expect(lines).toHaveLength(1);
  }, 60_000);

  it('--kill-previous stops the holder with SIGINT, waits for it, then takes the lock', async () => {
    const { tree, results } = dirs();
    const { child } = await holder(tree, results);
    const lines: string[] = [];
    const lock = await acquireRunLock({ kernelTree: tree, results, killPrevious: true, log: (l) => lines.push(l) });
    const ended = await child;
    expect(ended.exitCode).toBe(130);
    expect(lines[0]).toBe(`Stopping the previous run (pid ${child.pid}, run directory ${results}/held-run)`);
    lock.release();
  }, 60_000);

  it('--kill-previous gives up with one line when the holder will not stop', async () => {
    const { tree, results } = dirs();
    const { child } = await holder(tree, results, 'ignore-int');
    try {
      await expect(acquireRunLock({ kernelTree: tree, results, killPrevious: true, stopWaitMs: 1500, ...quiet })).rejects.toThrow(
        new RegExp(`run pid ${child.pid} still holds the lock 2 s after SIGINT`),
      );
    } finally {
      child.kill('SIGKILL');
      await child;
    }
  }, 60_000);

  it('--kill-previous signals nobody when the pid in the lock file is not the holder', async () => {
    const { tree, results } = dirs();
    const { child } = await holder(tree, results);
    try {
      // Anyone may write the file: a pid that does not hold it open gets no signal.
      writeFileSync(runLockPath(tree, results), JSON.stringify({ pid: process.pid, host: 'x', startedAt: '', kernelTree: tree }));
      await expect(acquireRunLock({ kernelTree: tree, results, killPrevious: true, ...quiet })).rejects.toThrow(/held, but not by the pid it names/);
      expect(child.exitCode).toBeNull();
    } finally {
      child.kill('SIGKILL');
      await child;
    }
  }, 60_000);
});
