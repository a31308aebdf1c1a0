import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseQemuCmdFile } from '../../src/qemu/index.js';
import type { RunSummary } from '../../src/report/types.js';
import { bundledScenarioDir } from '../../src/scenarios/library.js';
import { SUITES } from '../../src/scenarios/suites.js';
import { processesWith } from '../helpers/qemu-procs.js';
import { requireReal } from '../helpers/require.js';
import { runCli } from '../helpers/run-cli.js';

const tree = requireReal('kernel-tree', 'kernel-build', 'qemu').kernelTree;
const results = mkdtempSync(path.join(os.tmpdir(), 'kvmfarm-dropin-'));
afterAll(() => rmSync(results, { recursive: true, force: true }));
const MINUTES = 60_000;

describe('a kernel developer\'s flags reach a real guest', () => {
  it('--qemu-args "-device virtio-rng-pci" is in the recorded qemu-cmd and in the running qemu\'s own arguments', async () => {
    const runDir = path.join(results, 'rng');
    const seen: string[][] = [];
    // Watch /proc while the run goes: the guest's own qemu process, not only what was written down.
    const watcher = setInterval(() => seen.push(...processesWith(path.join(runDir, 'UP01-SMALL'))), 250);
    const r = await runCli('kvm-run', [
      '--kernel-dir', tree, '--scenarios', 'bundled', '--configs', 'UP01-SMALL', '--qemu-args', '-device virtio-rng-pci',
      '--duration', '10s', '--shutdown-grace', '120', '--results', results, '--datestamp', 'rng', '--accel', 'tcg',
    ], { cwd: results, timeoutMs: 30 * MINUTES }).finally(() => clearInterval(watcher));
    expect(r.exitCode, r.stderr).toBe(0);
    const recorded = parseQemuCmdFile(readFileSync(path.join(runDir, 'UP01-SMALL', 'qemu-cmd'), 'utf8')).argv;
    const at = recorded.indexOf('-device');
    expect(recorded.slice(at, at + 2)).toEqual(['-device', 'virtio-rng-pci']);
    expect(seen.length).toBeGreaterThan(0);
    const live = seen[0]!;
    expect(live[live.indexOf('-device') + 1]).toBe('virtio-rng-pci');
    const summary = JSON.parse(readFileSync(path.join(runDir, 'summary.json'), 'utf8')) as RunSummary;
    expect(summary.instances[0]?.verdict?.kind).toBe('pass');
    expect(summary.scenarios).toEqual({ dir: bundledScenarioDir(SUITES.rcu!), source: 'bundled' });
    expect(readFileSync(path.join(runDir, 'log'), 'utf8')).toContain(`Scenario directory: ${bundledScenarioDir(SUITES.rcu!)} (kvm-farm's bundled scenarios)`);
    expect(existsSync(path.join(runDir, 'UP01-SMALL', 'console.log'))).toBe(true);
  }, 35 * MINUTES);

});
