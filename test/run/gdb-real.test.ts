import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { splitShellLine } from '../../src/qemu/shell-words.js';
import type { RunSummary } from '../../src/report/types.js';
import { processesWith, waitFor } from '../helpers/qemu-procs.js';
import { requireReal } from '../helpers/require.js';
import { runCli } from '../helpers/run-cli.js';

const tree = requireReal('kernel-tree', 'kernel-build', 'qemu', 'gdb').kernelTree;
const results = mkdtempSync(path.join(os.tmpdir(), 'kvmfarm-gdb-'));
afterAll(() => rmSync(results, { recursive: true, force: true }));
const MINUTES = 60_000;

describe('kvm-run --gdb with a real kernel and a real gdb', () => {
  it('--gdb: a debug-info kernel, its guest halted until gdb attaches with the printed command, then judged as usual', async () => {
    const runDir = path.join(results, 'gdb');
    const running = runCli('kvm-run', [
      '--kernel-dir', tree, '--scenarios', 'bundled', '--configs', 'UP01-SMALL', '--gdb',
      '--duration', '10s', '--results', results, '--datestamp', 'gdb', '--accel', 'tcg',
    ], { cwd: results, timeoutMs: 40 * MINUTES });
    const logFile = path.join(runDir, 'log');
    const attachLine = await waitFor(() => {
      // The run's log stamps each line with its time: `2026-...Z --gdb: ...`.
      const line = existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').find((l) => / --gdb: /.test(l)) : undefined;
      return line?.slice(line.indexOf('--gdb: '));
    }, { timeoutMs: 35 * MINUTES, what: 'the --gdb attach line in the run log' });
    expect(attachLine).toBe(`--gdb: UP01-SMALL is halted waiting for a debugger; attach with: gdb ${path.join(runDir, 'UP01-SMALL', 'vmlinux')} -ex 'target remote :1234'  (set breakpoints, then: continue)`);
    expect(readFileSync(path.join(runDir, 'UP01-SMALL', '.config'), 'utf8')).toMatch(/^CONFIG_DEBUG_INFO=y$/m);
    const qemu = await waitFor(() => processesWith(path.join(runDir, 'UP01-SMALL'))[0], { timeoutMs: 60_000, what: 'the halted qemu' });
    expect(qemu.join(' ')).toMatch(/ -s -S( |$)/);
    expect(qemu.join(' ')).toMatch(/nokaslr/);
    // Halted: no kernel output while nobody has attached.
    await new Promise((resolve) => setTimeout(resolve, 5000));
    expect(readFileSync(path.join(runDir, 'UP01-SMALL', 'console.log'), 'utf8')).not.toMatch(/Linux version/);
    // The printed command, as a person would paste it, told to continue and quit when the guest is gone.
    const command = attachLine.slice(attachLine.indexOf('attach with: ') + 'attach with: '.length, attachLine.indexOf('  (set breakpoints'));
    const [gdb, ...args] = splitShellLine(command).words;
    const attached = await execa(gdb!, ['-batch', '-nx', ...args, '-ex', 'continue'], { reject: false, timeout: 20 * MINUTES });
    // Attached at the reset vector (-S), continued, and saw the guest power off at the end of its test.
    expect(attached.stdout + attached.stderr).toMatch(/in \?\? \(\)[\s\S]*\[Inferior 1 \(process 1\) exited normally\]/);
    const r = await running;
    expect(r.exitCode, r.stderr).toBe(0);
    const summary = JSON.parse(readFileSync(path.join(runDir, 'summary.json'), 'utf8')) as RunSummary;
    expect(summary.instances[0]?.verdict?.kind).toBe('pass');
  }, 45 * MINUTES);
});
