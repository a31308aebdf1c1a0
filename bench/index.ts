import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

/**
 * `npm run bench`: every benchmark, each in its own node process so one's memory
 * and warm-up never colour another's figures. `npm run bench -- analyze` runs one.
 */
const BENCHES = [
  ['analyze', 'console analysis throughput and peak memory'],
  ['build', 'cold kernel build against a cached rebuild'],
  ['again', 'preparing a 20-instance kvm-again rerun per link mode'],
  ['remote', 'shipping, batch hand-off and makespan on namespace hosts'],
  ['farm-build', 'kernels built on two 1-CPU namespace hosts against one CPU here: source bytes, build phase, whole job', 150],
  ['slurm', 'kvm-remote --slurm on a namespace Slurm cluster: makespan, step start latency, kernel placement'],
  ['report', 'report.html of a synthetic 1,000-instance run: size and render time in headless chromium'],
  ['real', "the kernel tree's own TINY01 (defconfig): cold build, cached rebuild, boot to first statistics, verdict, kvm-recheck.sh"],
  ['chaos', '30 short instances on 3 hosts under cuts, heals, a reboot and a coordinator kill with resume'],
] as const;

/** A bench's limit, unless it names its own: the farm-build bench compiles 8 kernels on single CPUs (about 75 minutes on this VM). */
const DEFAULT_LIMIT_MINUTES = 60;

const here = path.dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
let failed = 0;
for (const [name, what, limitMinutes] of BENCHES as readonly (readonly [string, string, number?])[]) {
  if (only.length > 0 && !only.includes(name)) continue;
  const file = path.join(here, `${name}-bench.js`);
  if (!existsSync(file)) {
    console.log(`== ${name}: not built (${file} missing)`);
    continue;
  }
  console.log(`== ${name}: ${what}`);
  const started = Date.now();
  const result = await execa('node', [file], { stdio: 'inherit', reject: false, timeout: (limitMinutes ?? DEFAULT_LIMIT_MINUTES) * 60_000 });
  console.log(`== ${name}: ${result.exitCode === 0 ? 'done' : `FAILED (exit ${result.exitCode ?? result.signal})`} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  if (result.exitCode !== 0) failed++;
}
process.exitCode = failed === 0 ? 0 : 1;
