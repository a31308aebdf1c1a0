import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, type CommandName } from '../helpers/run-cli.js';

// Issue 13, classes 4 (numbers out of range) and 7 (values not checked or not named),
// on the real commands: each ends with one line naming the value and exit status 2,
// and nothing is created under the results directory.
const work = mkdtempSync(path.join(os.tmpdir(), 'kvmfarm-values-'));
const results = path.join(work, 'res');
const oldRun = path.join(results, 'old-run');
mkdirSync(oldRun, { recursive: true });
writeFileSync(path.join(oldRun, 'torture_suite'), 'rcu\n');
writeFileSync(path.join(oldRun, 'scenarios'), '1 UP01-SMALL\n');
afterAll(() => rmSync(work, { recursive: true, force: true }));

const cases: [CommandName, string[], RegExp][] = [
  ['kvm-remote', ['h1', '--gather-timeout', '25d', '--configs', 'UP01-SMALL'], /--gather-timeout 2160000000ms: must be a whole number from 1000 to 86400000/],
  ['kvm-run', ['--duration', '99999999999999999999d', '--dryrun', 'batches'], /--duration "99999999999999999999d" is far too long/],
  ['kvm-run', ['--configs', '99999999*UP01', '--dryrun', 'batches'], /"99999999\*UP01": at most 10000 copies/],
  ['kvm-run', ['--configs', '9000*UP01 9000*UP01-SMALL', '--dryrun', 'batches'], /more than 10000 instances/],
  ['kvm-run', ['--datestamp', '../../etc/x', '--dryrun', 'batches'], /--datestamp "\.\.\/\.\.\/etc\/x"/],
  ['kvm-run', ['--datestamp', '-rf', '--dryrun', 'batches'], /--datestamp "-rf"/],
  ['kvm-run', ['--results', oldRun, '--dryrun', 'batches'], /is a run directory/],
  ['kvm-run', ['--buildonly', '--dryrun', 'batches'], /--buildonly and --dryrun cannot both be given/],
  ['kvm-remote', ['h1 ..', '--configs', 'UP01-SMALL'], /host "\.\." is not a host name/],
  ['kvm-again', [oldRun, '--duration', '30d'], /--duration 2592000s: must be a whole number from 1 to 1728000/],
];

describe('values from the command line are checked and named (real processes)', () => {
  it.each(cases)('%s %j: one line naming the value, exit 2', async (command, args, message) => {
    const before = readdirSync(results).sort();
    const r = await runCli(command, [...args, ...(command === 'kvm-again' ? [] : ['--results', results].filter(() => !args.includes('--results')))], { cwd: work });
    expect(r.timedOut).toBe(false);
    expect(r.errLines).toHaveLength(1);
    expect(r.stderr).toMatch(message);
    expect(r.exitCode).toBe(2);
    expect(readdirSync(results).sort()).toEqual(before);
  });
});
