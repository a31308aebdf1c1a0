import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import type { RemoteSummary } from '../../src/farm/index.js';
import { parseQemuCmdFile } from '../../src/qemu/index.js';

export const INSTANCE_LAYOUT = ['.config', 'ConfigFragment', 'Make.out', 'System.map', 'bzImage', 'console.log', 'console.log.diags', 'guest.json', 'qemu-cmd', 'qemu-output', 'qemu-retval', 'verdict.json', 'vmlinux'];
export const RUN_LAYOUT = ['accel', 'batches', 'journal', 'junit.xml', 'log', 'report.html', 'scenarios', 'summary.json', 'testid.txt', 'torture_suite'];

/**
 * What every farm run that lost nothing must show, whatever its hosts (ssh or Slurm):
 * each host done with no losses and never more CPUs in a batch than it has, kernels
 * shipped to it, and a run directory laid out as a local run's, each guest's console
 * carrying its own token and qemu's clean exit.
 */
export function expectCleanFarmRun(summary: RemoteSummary, specs: readonly { name: string; cpus: number }[]): void {
  for (const h of summary.hosts) {
    const spec = specs.find((s) => s.name === h.name)!;
    expect(h).toMatchObject({ state: 'done', failure: null, losses: 0, cpus: spec.cpus, accel: 'tcg' });
    expect(h.batches.length, h.name).toBeGreaterThan(0);
    for (const b of h.batches) {
      const cpus = b.instances.reduce((n, id) => n + summary.instances.find((x) => x.instance === id)!.cpus, 0);
      expect(cpus, `${h.name} batch ${b.number}`).toBeLessThanOrEqual(spec.cpus);
    }
    expect(h.blobBytesShipped).toBeGreaterThan(1_000_000);
  }
  const dir = summary.runDir;
  expect(readdirSync(dir).sort()).toEqual([...RUN_LAYOUT, 'remote-log', 're-run', ...summary.instances.map((x) => x.instance)].sort());
  for (const x of summary.instances) {
    const files = readdirSync(path.join(dir, x.instance));
    for (const name of INSTANCE_LAYOUT) expect(files, `${x.instance}/${name}`).toContain(name);
    const cmd = parseQemuCmdFile(readFileSync(path.join(dir, x.instance, 'qemu-cmd'), 'utf8'));
    expect(cmd.argv[cmd.argv.indexOf('-kernel') + 1]).toBe(path.join(dir, x.instance, 'bzImage'));
    expect(readFileSync(path.join(dir, x.instance, 'console.log'), 'utf8')).toContain(`kvmfarm.token=${cmd.settings.KVMFARM_TOKEN}`);
    expect(readFileSync(path.join(dir, x.instance, 'qemu-retval'), 'utf8').trim()).toBe('0');
  }
}
