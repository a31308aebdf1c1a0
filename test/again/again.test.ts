import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { againRun, prepareRerun, type AgainOptions } from '../../src/again/again.js';
import { main as kvmAgain } from '../../src/cli/kvm-again.js';
import { parseQemuCmdFile } from '../../src/qemu/index.js';
import { writeFakeRun } from './fake-run.js';
import { hashTree } from './tree-hash.js';

let work: string;
let results: string;
beforeEach(() => {
  work = mkdtempSync(path.join(os.tmpdir(), 'kvmfarm-again-'));
  results = path.join(work, 'res');
  mkdirSync(results);
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

const dry = (runDir: string, over: Partial<AgainOptions> = {}): AgainOptions => ({ runDir, results, dryrun: true, ...over });
const entries = () => readdirSync(results).sort();

function threeInstanceRun(): string {
  return writeFakeRun(path.join(results, 'orig'), [
    { id: 'TREE02C', batch: 1, cpus: 2, verdict: 'pass' },
    { id: 'UP01', batch: 2, verdict: 'fail' },
    { id: 'UP01.2', batch: 2, verdict: 'pass' },
  ]);
}

describe('kvm-again on a run directory (no boot)', () => {
  it('hard-links the kernels, rewrites each qemu-cmd and leaves the old run untouched', async () => {
    const orig = threeInstanceRun();
    const before = hashTree(orig);
    const summary = await againRun(dry(orig, { durationSeconds: 45 }));
    expect(hashTree(orig)).toEqual(before);
    const again = summary.runDir;
    expect(path.basename(again)).toMatch(/^\d{4}\.\d\d\.\d\d-\d\d\.\d\d\.\d\d-again$/);
    expect(path.dirname(again)).toBe(results);
    expect(readFileSync(path.join(again, 're-run'), 'utf8').trim()).toBe(orig);
    expect(readFileSync(path.join(again, 'scenarios'), 'utf8')).toBe(readFileSync(path.join(orig, 'scenarios'), 'utf8'));
    for (const id of ['TREE02C', 'UP01', 'UP01.2']) {
      expect(statSync(path.join(again, id, 'bzImage')).ino).toBe(statSync(path.join(orig, id, 'bzImage')).ino);
      expect(statSync(path.join(again, id, 'vmlinux')).ino).toBe(statSync(path.join(orig, id, 'vmlinux')).ino);
      for (const old of ['console.log', 'qemu-retval', 'verdict.json']) expect(existsSync(path.join(again, id, old)), old).toBe(false);
      const oldCmd = parseQemuCmdFile(readFileSync(path.join(orig, id, 'qemu-cmd'), 'utf8'));
      const cmd = parseQemuCmdFile(readFileSync(path.join(again, id, 'qemu-cmd'), 'utf8'));
      expect(cmd.argv).toContain(path.join(again, id, 'bzImage'));
      expect(cmd.argv).toContain(`file:${path.join(again, id, 'console.log')}`);
      expect(cmd.settings.seconds).toBe('45');
      expect(cmd.settings.KVMFARM_TOKEN).not.toBe(oldCmd.settings.KVMFARM_TOKEN);
      expect(cmd.argv.join(' ')).not.toContain(orig + '/');
    }
    expect(summary.instances.map((x) => x.kernel.source)).toEqual(['reused', 'reused', 'reused']);
    expect(summary.buildonly).toBe(true);
  });

  it('symbolic links and copies point at the original run, also when rerunning a rerun', async () => {
    const orig = threeInstanceRun();
    const soft = await againRun(dry(orig, { link: 'soft', newRunDir: path.join(results, 'soft') }));
    expect(readlinkSync(path.join(soft.runDir, 'UP01', 'bzImage'))).toBe(path.join(orig, 'UP01', 'bzImage'));
    const second = await againRun(dry(soft.runDir, { link: 'soft', newRunDir: path.join(results, 'soft2') }));
    expect(readlinkSync(path.join(second.runDir, 'UP01', 'bzImage'))).toBe(path.join(orig, 'UP01', 'bzImage'));
    expect(readFileSync(path.join(second.runDir, 're-run'), 'utf8').trim()).toBe(orig);
    const copy = await againRun(dry(second.runDir, { link: 'copy', newRunDir: path.join(results, 'copy') }));
    const copied = path.join(copy.runDir, 'UP01', 'bzImage');
    expect(lstatSync(copied).isFile()).toBe(true);
    expect(statSync(copied).ino).not.toBe(statSync(path.join(orig, 'UP01', 'bzImage')).ino);
    expect(readFileSync(copied)).toEqual(readFileSync(path.join(orig, 'UP01', 'bzImage')));
    // The rewritten command of a third-generation rerun is no longer than the original's.
    const a = readFileSync(path.join(orig, 'UP01', 'qemu-cmd'), 'utf8').split('\n')[0]!;
    const b = readFileSync(path.join(copy.runDir, 'UP01', 'qemu-cmd'), 'utf8').split('\n')[0]!;
    expect(b.split(' ').length).toBe(a.split(' ').length);
  });

  it('reruns a subset (--configs) or the failures (--failed), planned anew', async () => {
    const orig = threeInstanceRun();
    const subset = await againRun(dry(orig, { configs: 'UP01.2 TREE02C', newRunDir: path.join(results, 'subset'), cpus: 4 }));
    expect(subset.instances.map((x) => x.instance).sort()).toEqual(['TREE02C', 'UP01.2']);
    expect(readFileSync(path.join(subset.runDir, 'scenarios'), 'utf8').trim().split('\n')).toHaveLength(1);
    expect(existsSync(path.join(subset.runDir, 'UP01'))).toBe(false);
    const failed = await prepareRerun(dry(orig, { failed: true, newRunDir: path.join(results, 'failed') }));
    expect([...failed.commands.keys()]).toEqual(['UP01']);
  });

  it('refuses bad requests in one line and creates nothing', async () => {
    const orig = threeInstanceRun();
    const broken = writeFakeRun(path.join(results, 'broken'), [
      { id: 'A', batch: 1, verdict: 'pass' },
      { id: 'B', batch: 1, verdict: 'build-failed', noKernel: true },
    ]);
    mkdirSync(path.join(results, 'taken'));
    const start = entries();
    await expect(againRun(dry(orig, { configs: 'UP01 NOPE' }))).rejects.toThrow(/"NOPE" not in the run; its instances: TREE02C UP01 UP01.2/);
    await expect(againRun(dry(path.join(results, 'missing')))).rejects.toThrow(/does not exist/);
    await expect(againRun(dry(path.join(orig, 'UP01')))).rejects.toThrow(/is not a run directory/);
    await expect(againRun(dry(orig, { newRunDir: path.join(results, 'taken') }))).rejects.toThrow(/already exists/);
    await expect(againRun(dry(broken))).rejects.toThrow(/instance B has no kernel to boot \(its build failed\)/);
    expect(entries()).toEqual(start);
    // --failed leaves out what has no kernel; with nothing left it says so.
    await expect(againRun(dry(broken, { failed: true }))).rejects.toThrow(/nothing to rerun/);
    expect(entries()).toEqual(start);
  });

  it('refuses hard links across filesystems, naming the ways out', async () => {
    // Debian mounts a tmpfs on /dev/shm: another filesystem than the test's.
    const shm = '/dev/shm';
    expect(statSync(shm).dev, `${shm} must be a filesystem apart from ${work}`).not.toBe(statSync(work).dev);
    const orig = threeInstanceRun();
    const target = path.join(shm, `kvmfarm-again-${process.pid}`);
    try {
      await expect(againRun(dry(orig, { newRunDir: target }))).rejects.toThrow(/another filesystem.*--link copy or --link soft/);
      expect(existsSync(target)).toBe(false);
      const copied = await againRun(dry(orig, { newRunDir: target, link: 'copy' }));
      expect(statSync(path.join(copied.runDir, 'UP01', 'bzImage')).size).toBe(statSync(path.join(orig, 'UP01', 'bzImage')).size);
    } finally {
      rmSync(target, { recursive: true, force: true });
    }
  });

  it('the CLI turns bad values into one line and exit 2', async () => {
    const orig = threeInstanceRun();
    const run = async (...argv: string[]) => {
      const err: string[] = [];
      const status = await kvmAgain(argv, { out: () => {}, err: (l) => err.push(l) });
      return { status, err };
    };
    for (const argv of [[orig, '--link', 'sideways'], [orig, '--duration', '5x'], [], [orig, '--configs', 'NOPE', '--dryrun']]) {
      const { status, err } = await run(...argv);
      expect(status, argv.join(' ')).toBe(2);
      expect(err, argv.join(' ')).toHaveLength(1);
    }
    expect((await run(orig, '--link', 'sideways')).err[0]).toMatch(/sideways/);
  });
});
