import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { parseQemuCmdFile, probeAccel, runGuest } from '../../src/qemu/index.js';
import { readBzImageBanner } from '../../src/build/kernel-banner.js';
import { getSuite } from '../../src/scenarios/suites.js';
import { judgeGuest } from '../../src/run/judge-instance.js';
import { runKvm } from '../../src/run/kvm-run.js';
import { recheckRun } from '../../src/run/recheck.js';
import { formatSummary } from '../../src/report/text.js';
import { requireReal } from '../helpers/require.js';
import { smallRunOptions } from '../helpers/run-options.js';

const tree = requireReal('kernel-tree', 'kernel-build', 'qemu', 'git').kernelTree;
const results = mkdtempSync(path.join(os.tmpdir(), 'kvmfarm-run-'));
afterAll(() => rmSync(results, { recursive: true, force: true }));
const MINUTES = 60_000;

describe('kvm-run on real kernels under TCG', () => {
  it('builds two small scenarios (--buildonly): kernels and qemu-cmd in the run directory, nothing booted', async () => {
    const summary = await runKvm(smallRunOptions(tree, results, { configs: 'TREE02C-SMALL UP01-SMALL', buildonly: true, datestamp: 'buildonly' }));
    expect(summary.exitCode).toBe(0);
    for (const id of ['TREE02C-SMALL', 'UP01-SMALL']) {
      const dir = path.join(summary.runDir, id);
      expect(statSync(path.join(dir, 'bzImage')).size).toBeGreaterThan(500_000);
      expect(existsSync(path.join(dir, 'vmlinux'))).toBe(true);
      expect(existsSync(path.join(dir, '.config'))).toBe(true);
      expect(existsSync(path.join(dir, 'buildonly'))).toBe(true);
      expect(existsSync(path.join(dir, 'console.log'))).toBe(false);
      const cmd = parseQemuCmdFile(readFileSync(path.join(dir, 'qemu-cmd'), 'utf8'));
      expect(cmd.settings.seconds).toBe('30');
    }
    expect(existsSync(path.join(summary.runDir, 'buildonly'))).toBe(true);
    expect(summary.instances.every((x) => x.verdict === undefined)).toBe(true);
    // Same inputs again: no compile.
    const again = await runKvm(smallRunOptions(tree, results, { configs: 'TREE02C-SMALL UP01-SMALL', buildonly: true, datestamp: 'buildonly-2' }));
    expect(again.instances.map((x) => x.kernel.source)).toEqual(['cached', 'cached']);
  }, 40 * MINUTES);

  it('passes two healthy scenarios with grace periods and fails the busted one, quoting its "!!!" lines', async () => {
    const summary = await runKvm(
      smallRunOptions(tree, results, { configs: 'TREE02C-SMALL UP01-SMALL BUSTED01-SMALL', cpus: 3, datestamp: 'boot' }),
    );
    const byId = Object.fromEntries(summary.instances.map((x) => [x.instance, x]));
    for (const id of ['TREE02C-SMALL', 'UP01-SMALL']) {
      expect(byId[id]!.verdict?.kind, `${id}: ${byId[id]!.verdict?.reasons.join('; ')}`).toBe('pass');
      expect(byId[id]!.verdict!.gracePeriods).toBeGreaterThan(0);
      expect(byId[id]!.guest!.durationMs).toBeGreaterThan(30_000);
      expect(readFileSync(path.join(summary.runDir, id, 'qemu-retval'), 'utf8').trim()).toBe('0');
    }
    const busted = byId['BUSTED01-SMALL']!.verdict!;
    expect(busted.kind).toBe('fail');
    expect(busted.quoted.some((line) => line.includes('!!!'))).toBe(true);
    expect(busted.quoted.length).toBeLessThanOrEqual(20);
    expect(summary.exitCode).toBe(1);
    const json = JSON.parse(readFileSync(path.join(summary.runDir, 'summary.json'), 'utf8'));
    const kinds = Object.fromEntries(json.instances.map((x: { instance: string; verdict: { kind: string } }) => [x.instance, x.verdict.kind]));
    expect(kinds).toEqual({ 'TREE02C-SMALL': 'pass', 'UP01-SMALL': 'pass', 'BUSTED01-SMALL': 'fail' });
    const junit = readFileSync(path.join(summary.runDir, 'junit.xml'), 'utf8');
    expect(junit).toContain('<failure type="fail"');
    expect(junit.match(/<testcase /g)?.length).toBe(3);
  }, 40 * MINUTES);

  it('judges a guest that boots another build of the kernel wrong-kernel', async () => {
    const built = path.join(results, 'buildonly');
    const dir = path.join(built, 'TREE02C-SMALL');
    const other = path.join(built, 'UP01-SMALL', 'bzImage');
    const command = parseQemuCmdFile(readFileSync(path.join(dir, 'qemu-cmd'), 'utf8'));
    const swapped = mkdtempSync(path.join(results, 'swap-'));
    command.argv = command.argv.map((w, i) => (command.argv[i - 1] === '-kernel' ? other : w.startsWith('file:') ? `file:${swapped}/console.log` : w));
    command.argv = command.argv.map((w) => w.replace(/shutdown_secs=\d+/, 'shutdown_secs=5'));
    const guest = await runGuest({ instance: 'TREE02C-SMALL', command, dir: swapped, durationSeconds: 5, shutdownGraceSeconds: 60, bootTimeoutSeconds: 60 });
    const verdict = await judgeGuest({
      dir: swapped,
      guest,
      suite: getSuite('rcu'),
      banner: (await readBzImageBanner(path.join(dir, 'bzImage')))!,
      durationSeconds: 5,
    });
    expect(verdict.kind).toBe('wrong-kernel');
    expect(verdict.reasons.join(' ')).toMatch(/another build/);
  }, 10 * MINUTES);

  it('judges a guest that never prints no-boot within its limit, and a KVM guest on this machine too', async () => {
    const started = Date.now();
    const silent = await runKvm(
      smallRunOptions(tree, results, { configs: 'UP01-SMALL', bootArgs: ['loglevel=0'], bootTimeoutSeconds: 20, datestamp: 'silent' }),
    );
    expect(silent.instances[0]!.verdict?.kind).toBe('no-boot');
    expect(silent.instances[0]!.guest!.noOutput).toBe(true);
    expect(Date.now() - started).toBeLessThan(3 * MINUTES);

    // A forced kvm passes where KVM works, and elsewhere ends as no-boot rather than hanging.
    const kvmWorks = (await probeAccel('kvm')).usable;
    const kvm = await runKvm(smallRunOptions(tree, results, { configs: 'UP01-SMALL', accel: 'kvm', bootTimeoutSeconds: 20, datestamp: 'kvm' }));
    expect(kvmWorks ? ['pass'] : ['no-boot', 'infra-error']).toContain(kvm.instances[0]!.verdict?.kind);
    expect(kvm.accel).toBe('kvm');
  }, 20 * MINUTES);
});

describe("the kernel's own kvm-recheck.sh on a kvm-farm run", () => {
  it('reaches the same pass/fail per scenario as kvm-recheck', async () => {
    const original = path.join(results, 'boot');
    expect(existsSync(path.join(original, 'summary.json')), 'the boot test above must have run').toBe(true);
    // kvm-recheck.sh rewrites console.log.diags: give it a copy, so ours stay as written.
    const copy = path.join(results, 'boot-for-kernel-recheck');
    cpSync(original, copy, { recursive: true });
    for (const id of readdirSync(copy)) {
      if (statSync(path.join(copy, id)).isDirectory()) rmSync(path.join(copy, id, 'console.log.diags'), { force: true });
    }
    const kernel = await execa('bash', ['tools/testing/selftests/rcutorture/bin/kvm-recheck.sh', copy], { cwd: tree, reject: false, timeout: 120_000 });
    const ours = await recheckRun(original);
    const kernelSays = (id: string) => {
      const diags = path.join(copy, id, 'console.log.diags');
      return existsSync(diags) && readFileSync(diags, 'utf8').trim() !== '' ? 'fail' : 'pass';
    };
    const side = ours.instances.map((x) => ({ instance: x.instance, kvmFarm: x.verdict?.kind === 'pass' ? 'pass' : 'fail', kernel: kernelSays(x.instance) }));
    console.log(
      `kernel kvm-recheck.sh (exit ${kernel.exitCode}):\n${kernel.stdout}\n\nkvm-recheck:\n${formatSummary(ours).join('\n')}\n\n` +
        side.map((s) => `${s.instance}: kvm-farm ${s.kvmFarm}, kernel ${s.kernel}`).join('\n'),
    );
    for (const s of side) expect(s.kernel, s.instance).toBe(s.kvmFarm);
    expect(kernel.stdout).toMatch(/TREE02C-SMALL ------- \d+ GPs/);
  }, 10 * 60_000);
});
