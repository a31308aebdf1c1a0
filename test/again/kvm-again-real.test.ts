import { lstatSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { againRun } from '../../src/again/again.js';
import type { LinkMode } from '../../src/again/link.js';
import { parseQemuCmdFile } from '../../src/qemu/index.js';
import { runKvm } from '../../src/run/kvm-run.js';
import { requireReal } from '../helpers/require.js';
import { smallRunOptions } from '../helpers/run-options.js';
import { hashTree } from './tree-hash.js';

const tree = requireReal('kernel-tree', 'kernel-build', 'qemu').kernelTree;
const results = mkdtempSync(path.join(os.tmpdir(), 'kvmfarm-again-real-'));
afterAll(() => rmSync(results, { recursive: true, force: true }));
const MINUTES = 60_000;
const SCENARIOS = ['UP01-SMALL', 'BUSTED01-SMALL'];

describe('kvm-again on real kernels under TCG', () => {
  let built = '';

  it('reruns a --buildonly run with each link mode, booted and judged, the original untouched', async () => {
    const buildonly = await runKvm(smallRunOptions(tree, results, { configs: SCENARIOS.join(' '), buildonly: true, datestamp: 'built', cpus: 2 }));
    expect(buildonly.exitCode).toBe(0);
    built = buildonly.runDir;
    const before = hashTree(built);
    for (const link of ['hard', 'soft', 'copy'] as LinkMode[]) {
      const summary = await againRun({
        runDir: built,
        link,
        newRunDir: path.join(results, `again-${link}`),
        durationSeconds: 15,
        accel: 'tcg',
        shutdownGraceSeconds: 60,
        bootTimeoutSeconds: 60,
      });
      const verdicts = Object.fromEntries(summary.instances.map((x) => [x.instance, x.verdict?.kind]));
      expect(verdicts, link).toEqual({ 'UP01-SMALL': 'pass', 'BUSTED01-SMALL': 'fail' });
      for (const id of SCENARIOS) {
        const mine = path.join(summary.runDir, id, 'bzImage');
        const original = path.join(built, id, 'bzImage');
        // hard: the same inode, no extra disk; soft: a link to the original file; copy: a file of its own.
        expect(lstatSync(mine).isSymbolicLink(), id).toBe(link === 'soft');
        if (link === 'copy') expect(statSync(mine).ino, id).not.toBe(statSync(original).ino);
        else expect(statSync(mine).ino, id).toBe(statSync(original).ino);
        const cmd = parseQemuCmdFile(readFileSync(path.join(summary.runDir, id, 'qemu-cmd'), 'utf8'));
        expect(cmd.settings.seconds).toBe('15');
        expect(summary.instances.find((x) => x.instance === id)!.guest!.durationMs).toBeGreaterThan(15_000);
      }
      expect(readFileSync(path.join(summary.runDir, 're-run'), 'utf8').trim()).toBe(built);
    }
    expect(hashTree(built)).toEqual(before);
  }, 30 * MINUTES);

  it('--failed after a run with one failing scenario reruns exactly that one', async () => {
    const summary = await againRun({
      runDir: path.join(results, 'again-hard'),
      failed: true,
      newRunDir: path.join(results, 'again-failed'),
      durationSeconds: 10,
      accel: 'tcg',
      shutdownGraceSeconds: 60,
      bootTimeoutSeconds: 60,
    });
    expect(summary.instances.map((x) => [x.instance, x.verdict?.kind])).toEqual([['BUSTED01-SMALL', 'fail']]);
    expect(readFileSync(path.join(summary.runDir, 're-run'), 'utf8').trim()).toBe(built);
  }, 10 * MINUTES);
});
