#!/usr/bin/env node
// Reruns one scenario of an earlier run on some hosts and prints what each host did,
// using only kvm-farm's public API:
//
//   node examples/rerun-on-hosts.mjs res/2026.11.21-10.52.56 UP01-SMALL "h1 h2" [seconds]
//
// Hosts are ssh names (as in ~/.ssh/config) or "localhost" for this machine.
import { remote, formatSummary, isKvmFarmError } from 'kvm-farm';

const [runDir, scenario, hostWord, seconds = '30'] = process.argv.slice(2);
if (!runDir || !scenario || !hostWord) {
  console.error('usage: rerun-on-hosts.mjs RUNDIR INSTANCE "HOST1 HOST2" [seconds]');
  process.exit(2);
}

try {
  const summary = await remote({
    hosts: hostWord.split(/\s+/).filter(Boolean),
    source: { kind: 'again', options: { runDir, configs: scenario, durationSeconds: Number(seconds) } },
    log: (line) => console.log(line),
  });
  for (const line of formatSummary(summary)) console.log(line);
  for (const host of summary.hosts) {
    const ran = host.batches.flatMap((b) => b.instances);
    const verdicts = summary.instances.filter((i) => i.host === host.name).map((i) => `${i.instance}=${i.verdict?.kind ?? 'none'}`);
    console.log(`${host.name}: ${host.failure ? `FAILED (${host.failure})` : `${host.cpus} CPUs, ${host.accel}`}; ran ${ran.length}: ${verdicts.join(' ')}`);
  }
  process.exitCode = summary.exitCode;
} catch (error) {
  console.error(isKvmFarmError(error) ? `rerun-on-hosts: ${error.message}` : error);
  process.exitCode = 2;
}
