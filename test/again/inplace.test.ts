import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { againRun, type AgainOptions } from '../../src/again/again.js';
import { parseQemuCmdFile } from '../../src/qemu/index.js';
import { writeFakeRun } from './fake-run.js';

let work: string;
let results: string;
beforeEach(() => {
  work = mkdtempSync(path.join(os.tmpdir(), 'kvmfarm-inplace-'));
  results = path.join(work, 'res');
  mkdirSync(results);
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

const dry = (runDir: string, over: Partial<AgainOptions> = {}): AgainOptions => ({ runDir, dryrun: true, ...over });

/** A --buildonly run: kernels and qemu-cmd files, no guest has run. */
function builtOnly(): string {
  const dir = writeFakeRun(path.join(results, 'built'), [{ id: 'TINY01', batch: 1 }, { id: 'TINY01.2', batch: 1 }]);
  for (const id of ['TINY01', 'TINY01.2']) {
    rmSync(path.join(dir, id, 'console.log'));
    rmSync(path.join(dir, id, 'qemu-retval'));
    writeFileSync(path.join(dir, id, 'buildonly'), '');
  }
  writeFileSync(path.join(dir, 'buildonly'), '');
  return dir;
}

describe('kvm-again --link inplace|inplace-force: rerun the kernels where they were built', () => {
  it('inplace: the run directory itself is the rerun\'s, nothing new is made and no kernel is copied', async () => {
    const dir = builtOnly();
    const summary = await againRun(dry(dir, { link: 'inplace', durationSeconds: 20 }));
    expect(summary.runDir).toBe(dir);
    expect(readdirSync(results)).toEqual(['built']);
    expect(existsSync(path.join(dir, 're-run'))).toBe(false);
    const cmd = parseQemuCmdFile(readFileSync(path.join(dir, 'TINY01', 'qemu-cmd'), 'utf8'));
    expect(cmd.argv).toContain(path.join(dir, 'TINY01', 'bzImage'));
    expect(cmd.argv).toContain(`file:${path.join(dir, 'TINY01', 'console.log')}`);
    expect(cmd.settings.seconds).toBe('20');
    expect(readFileSync(path.join(dir, 'log'), 'utf8')).toMatch(/--link inplace/);
  });

  it('inplace refuses a directory whose guests ran already, naming inplace-force; inplace-force reruns over the old results', async () => {
    const dir = writeFakeRun(path.join(results, 'ran'), [{ id: 'UP01', batch: 1, verdict: 'fail' }]);
    await expect(againRun(dry(dir, { link: 'inplace' }))).rejects.toThrow(/--link inplace: .*ran has run already \(UP01\/console.log\); --link inplace-force/);
    expect(readFileSync(path.join(dir, 'UP01', 'console.log'), 'utf8')).toBe('an old console\n');
    await againRun(dry(dir, { link: 'inplace-force' }));
    for (const old of ['console.log', 'qemu-retval', 'verdict.json']) expect(existsSync(path.join(dir, 'UP01', old)), old).toBe(false);
    expect(existsSync(path.join(dir, 'UP01', 'bzImage'))).toBe(true);
  });

  it.each([
    [{ newRunDir: '/tmp/elsewhere' }, /--rundir names a new directory/],
    [{ datestamp: 'x' }, /--datestamp names a new directory/],
    [{ configs: 'TINY01' }, /for a subset \(--configs, --failed\) use --link hard/],
  ])('inplace with %o is refused in one line, before anything is touched', async (over, message) => {
    const dir = builtOnly();
    const before = readdirSync(path.join(dir, 'TINY01')).sort();
    await expect(againRun(dry(dir, { link: 'inplace', ...over }))).rejects.toThrow(message);
    expect(readdirSync(path.join(dir, 'TINY01')).sort()).toEqual(before);
  });
});

describe('kvm-again --datestamp', () => {
  it('names the new run directory under --results, as kvm-again.sh does', async () => {
    const dir = builtOnly();
    const summary = await againRun(dry(dir, { results, datestamp: 'again/mine' }));
    expect(summary.runDir).toBe(path.join(results, 'again', 'mine'));
    await expect(againRun(dry(dir, { results, datestamp: 'again/mine' }))).rejects.toThrow(/--datestamp .*mine already exists/);
    await expect(againRun(dry(dir, { results, datestamp: 'x', newRunDir: path.join(work, 'y') }))).rejects.toThrow(/--rundir and --datestamp both/);
  });
});
