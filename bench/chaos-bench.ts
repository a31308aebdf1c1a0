/**
 * A farm run under a scripted mix of faults against the same run without them:
 * 30 short UP01-SMALL instances (real kernel, TCG) on three namespace hosts (1, 1 and
 * 2 CPUs). After the first batch starts: c1 cut for 5 s (shorter than --lost-grace),
 * c2 rebooted (all its processes killed, new boot_id, sshd started again), c3 cut for
 * 25 s (longer than the grace), and the coordinator killed with SIGKILL, then
 * `kvm-remote --resume`. Figures: instances lost (target 0), instances judged twice
 * (target 0), guest-seconds thrown away (lost attempts, placement to write-off), and
 * wall time against the fault-free run. Needs root.
 * Run alone: `npm run build && node dist/bench/chaos-bench.js [kernel-dir]`.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { main as kvmRemoteMain } from '../src/cli/kvm-remote.js';
import { readJournal, remoteRun, resumeRemote, type RemoteSummary } from '../src/farm/index.js';
import { runKvm } from '../src/run/kvm-run.js';
import { cleanupStaleFarms, createFarm, type Farm } from '../test/transport/farm.js';
import { smallRunOptions } from '../test/helpers/run-options.js';

const HOSTS = [{ name: 'c1', cpus: 1 }, { name: 'c2', cpus: 1 }, { name: 'c3', cpus: 2 }];
const INSTANCES = 30;
const DURATION_S = 5;
const GRACE = '15s';

export interface ChaosBenchResult {
  instances: number;
  lost: number;
  judgedTwice: number;
  rerun: number;
  guestSecondsThrownAway: number;
  chaosWallMs: number;
  cleanWallMs: number;
  events: string[];
}

export async function benchChaos(kernelDir?: string, log: (line: string) => void = () => {}): Promise<ChaosBenchResult> {
  const tree = kernelDir ?? path.join(process.env.KVM_FARM_CACHE ?? path.join(os.homedir(), '.cache', 'kvm-farm'), 'src', 'linux-source-6.1');
  const results = mkdtempSync(path.join(os.tmpdir(), 'kvmfarm-bench-chaos-'));
  await cleanupStaleFarms();
  const farm = await createFarm({ hosts: HOSTS });
  try {
    const built = await runKvm({ ...smallRunOptions(tree, results, { configs: `${INSTANCES}*UP01-SMALL`, datestamp: 'kernels' }), buildonly: true });
    const configs = Array.from({ length: INSTANCES }, (_, i) => (i === 0 ? 'UP01-SMALL' : `UP01-SMALL.${i + 1}`)).join(' ');
    log(`fault-free run: ${INSTANCES} instances of ${DURATION_S} s`);
    let t = Date.now();
    const clean = await remoteRun({
      hosts: HOSTS.map((h) => h.name), sshConfigFile: farm.configFile, agent: null, accel: 'tcg',
      source: { kind: 'again', options: { runDir: built.runDir, configs, durationSeconds: DURATION_S, newRunDir: path.join(results, 'clean') } },
    });
    const cleanWallMs = Date.now() - t;
    check(clean, 'fault-free');
    log(`  ${(cleanWallMs / 1000).toFixed(1)} s`);

    const runDir = path.join(results, 'chaos');
    t = Date.now();
    const events: string[] = [];
    const say = (what: string): void => {
      events.push(`+${((Date.now() - t) / 1000).toFixed(1)} s ${what}`);
      log(`  ${events.at(-1)}`);
    };
    const child = execa('node', [fileURLToPath(import.meta.url), '--coordinator', HOSTS.map((h) => h.name).join(' '), built.runDir,
      '--configs', configs, '--duration', `${DURATION_S}s`, '--rundir', runDir, '-F', farm.configFile, '--accel', 'tcg', '--lost-grace', GRACE], { reject: false, all: true });
    await until(() => /batch 1 started/.test(read(path.join(runDir, 'remote-log'))), 10 * 60_000);
    const zero = Date.now();
    const at = (s: number) => new Promise((r) => setTimeout(r, Math.max(0, zero + s * 1000 - Date.now())));
    await at(8);
    await farm.cutNetwork('c1');
    say('c1 cut');
    await at(13);
    await farm.restoreNetwork('c1');
    say('c1 healed (5 s, under the grace)');
    await at(20);
    await farm.reboot('c2');
    say('c2 rebooted');
    await at(28);
    await farm.cutNetwork('c3');
    say('c3 cut');
    await at(36);
    child.kill('SIGKILL');
    await child;
    say('coordinator killed (SIGKILL)');
    await at(38);
    say('kvm-remote --resume');
    const resumed = resumeRemote({ runDir, sshConfigFile: farm.configFile, agent: null });
    await at(53);
    await farm.restoreNetwork('c3');
    say('c3 healed (25 s, over the grace)');
    const summary = await resumed;
    const chaosWallMs = Date.now() - t;
    say('run finished');
    const journal = readJournal(runDir);
    const judged = new Map<string, number>();
    for (const line of read(path.join(runDir, 'journal')).split('\n')) {
      if (line.includes('"t":"judged"')) {
        const id = (JSON.parse(line) as { instance: string }).instance;
        judged.set(id, (judged.get(id) ?? 0) + 1);
      }
    }
    const lostAttempts = journal.attempts.filter((a) => a.outcome === 'lost');
    return {
      instances: summary.instances.length,
      lost: summary.instances.filter((x) => !x.verdict || x.verdict.kind === 'infra-error').length + (INSTANCES - summary.instances.length),
      judgedTwice: [...judged.values()].filter((n) => n > 1).length,
      rerun: lostAttempts.length,
      guestSecondsThrownAway: lostAttempts.reduce((s, a) => s + ((a.lostAt ?? a.placedAt) - a.placedAt) / 1000, 0),
      chaosWallMs,
      cleanWallMs,
      events,
    };
  } finally {
    await destroy(farm);
    rmSync(results, { recursive: true, force: true });
  }
}

function check(summary: RemoteSummary, what: string): void {
  const bad = summary.instances.filter((x) => x.verdict?.kind !== 'pass');
  if (bad.length > 0) throw new Error(`${what} run: ${bad.map((x) => `${x.instance} ${x.verdict?.kind}`).join(', ')}`);
}

function read(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function until(check: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      if (check()) resolve(clearInterval(timer));
      else if (Date.now() > end) reject(new Error(`not within ${ms} ms`, { cause: clearInterval(timer) }));
    }, 100);
  });
}

async function destroy(farm: Farm): Promise<void> {
  await farm.destroy().catch(() => {});
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (process.argv[2] === '--coordinator') {
    // The coordinator as its own process, so the bench can kill it with SIGKILL.
    process.exitCode = await kvmRemoteMain(process.argv.slice(3));
  } else {
    const r = await benchChaos(process.argv[2], (l) => console.log(l));
    console.log(`chaos: ${r.instances} instances of ${DURATION_S} s on ${HOSTS.map((h) => `${h.name}(${h.cpus})`).join(' ')}, --lost-grace ${GRACE}, TCG`);
    for (const e of r.events) console.log(`  ${e}`);
    console.log(`  instances lost         ${r.lost} (target 0)`);
    console.log(`  instances judged twice ${r.judgedTwice} (target 0)`);
    console.log(`  attempts rerun         ${r.rerun}; guest-seconds thrown away ${r.guestSecondsThrownAway.toFixed(1)}`);
    console.log(`  wall time              ${(r.chaosWallMs / 1000).toFixed(1)} s with faults against ${(r.cleanWallMs / 1000).toFixed(1)} s without (+${(((r.chaosWallMs - r.cleanWallMs) / r.cleanWallMs) * 100).toFixed(0)} %)`);
    console.log(JSON.stringify(r));
  }
}
