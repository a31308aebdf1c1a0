import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildQemuCommand, formatQemuCmdFile } from '../../src/qemu/index.js';
import { getSuite } from '../../src/scenarios/suites.js';

export interface FakeInstance {
  id: string;
  batch: number;
  cpus?: number;
  verdict?: string;
  /** No bzImage, as after a failed build. */
  noKernel?: boolean;
}

/**
 * A run directory in kvm-run's layout whose "kernels" are a few random bytes: enough
 * for everything kvm-again does short of booting.
 */
export function writeFakeRun(dir: string, instances: FakeInstance[], seconds = 30): string {
  mkdirSync(dir, { recursive: true });
  const batches = [...new Set(instances.map((x) => x.batch))].sort((a, b) => a - b);
  writeFileSync(path.join(dir, 'torture_suite'), 'rcu\n');
  writeFileSync(
    path.join(dir, 'scenarios'),
    batches.map((b) => `${b}. ${instances.filter((x) => x.batch === b).map((x) => ` ${x.id}`).join('')}\n`).join(''),
  );
  writeFileSync(path.join(dir, 'testid.txt'), 'Build directory: /nowhere\n');
  writeFileSync(path.join(dir, 'log'), 'the original log\n');
  for (const x of instances) {
    const d = path.join(dir, x.id);
    mkdirSync(d);
    writeFileSync(path.join(d, 'Make.out'), `make output of ${x.id}\n`);
    writeFileSync(path.join(d, '.config'), 'CONFIG_RCU_TORTURE_TEST=y\n');
    if (!x.noKernel) {
      writeFileSync(path.join(d, 'bzImage'), `kernel image of ${x.id} `.repeat(1000));
      writeFileSync(path.join(d, 'vmlinux'), `vmlinux of ${x.id}`);
      const command = buildQemuCommand({
        accel: 'tcg',
        kernel: path.join(d, 'bzImage'),
        consoleLog: path.join(d, 'console.log'),
        cpus: x.cpus ?? 1,
        seconds,
        suite: getSuite('rcu'),
      });
      writeFileSync(path.join(d, 'qemu-cmd'), formatQemuCmdFile(command));
      writeFileSync(path.join(d, 'console.log'), 'an old console\n');
      writeFileSync(path.join(d, 'qemu-retval'), '0\n');
    }
    if (x.verdict) writeFileSync(path.join(d, 'verdict.json'), JSON.stringify({ instance: x.id, kind: x.verdict, reasons: [], quoted: [] }));
  }
  return dir;
}
