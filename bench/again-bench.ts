/**
 * Time to prepare a 20-instance kvm-again rerun (new directory, kernels carried over,
 * every qemu-cmd rewritten; no boot) for each link mode. The kernels have a defconfig
 * build's sizes (bzImage 12 MB, vmlinux 64 MB), so copy mode pays what it would on a
 * real run. Run alone: `npm run build && node dist/bench/again-bench.js`.
 */
import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { againRun } from '../src/again/again.js';
import { LINK_MODES, type LinkMode } from '../src/again/link.js';
import { buildQemuCommand, formatQemuCmdFile } from '../src/qemu/index.js';
import { getSuite } from '../src/scenarios/suites.js';

const INSTANCES = 20;
const MB = 1024 * 1024;

function writeSourceRun(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const bzImage = path.join(dir, 'bzImage.src');
  const vmlinux = path.join(dir, 'vmlinux.src');
  writeFileSync(bzImage, randomBytes(12 * MB));
  writeFileSync(vmlinux, randomBytes(64 * MB));
  const ids = Array.from({ length: INSTANCES }, (_, i) => `TREE${String(i + 1).padStart(2, '0')}`);
  writeFileSync(path.join(dir, 'torture_suite'), 'rcu\n');
  writeFileSync(path.join(dir, 'scenarios'), ids.map((id, i) => `${i + 1}.  ${id}\n`).join(''));
  for (const id of ids) {
    const d = path.join(dir, id);
    mkdirSync(d);
    linkSync(bzImage, path.join(d, 'bzImage'));
    linkSync(vmlinux, path.join(d, 'vmlinux'));
    writeFileSync(path.join(d, '.config'), 'CONFIG_RCU_TORTURE_TEST=y\n'.repeat(4000));
    writeFileSync(path.join(d, 'Make.out'), 'CC kernel/rcu/rcutorture.o\n'.repeat(3000));
    const command = buildQemuCommand({
      accel: 'tcg',
      kernel: path.join(d, 'bzImage'),
      consoleLog: path.join(d, 'console.log'),
      cpus: 8,
      seconds: 1800,
      suite: getSuite('rcu'),
    });
    writeFileSync(path.join(d, 'qemu-cmd'), formatQemuCmdFile(command));
  }
}

export async function benchAgain(): Promise<Record<LinkMode, number>> {
  const work = mkdtempSync(path.join(os.homedir(), '.kvmfarm-again-bench-'));
  try {
    const source = path.join(work, 'source');
    writeSourceRun(source);
    const times = {} as Record<LinkMode, number>;
    for (const link of LINK_MODES) {
      const started = process.hrtime.bigint();
      await againRun({ runDir: source, link, newRunDir: path.join(work, `again-${link}`), dryrun: true, durationSeconds: 60 });
      times[link] = Number(process.hrtime.bigint() - started) / 1e6;
      console.log(`kvm-again --dryrun, ${INSTANCES} instances, --link ${link}: ${times[link].toFixed(1)} ms`);
    }
    const verdict = times.hard < 1000 ? 'met' : 'MISSED';
    console.log(`target: hard links under 1000 ms: ${verdict}`);
    return times;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const times = await benchAgain();
process.exitCode = times.hard < 1000 ? 0 : 1;
