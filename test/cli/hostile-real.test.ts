import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildQemuCommand, formatQemuCmdFile } from '../../src/qemu/index.js';
import { getSuite } from '../../src/scenarios/suites.js';
import { writeFakeRun } from '../again/fake-run.js';
import { runCli, type CliResult } from '../helpers/run-cli.js';
import { makeTree } from '../helpers/tmp-tree.js';

// Each class of issue 13 on the real command: a process started from source, as a user runs it.
let trees: { dir: string; remove: () => void }[] = [];
afterEach(() => {
  for (const t of trees) t.remove();
  trees = [];
});
function tree(files: Record<string, string> = {}): string {
  const t = makeTree(files);
  trees.push(t);
  return t.dir;
}

/** The promise for bad input: exit 2 and exactly one line on stderr, printable and bounded. */
function expectOneLine(r: CliResult, command: string, message: RegExp): void {
  expect(r.timedOut, r.stderr.slice(0, 500)).toBe(false);
  expect(r.errLines, r.stderr.slice(0, 2000)).toHaveLength(1);
  expect(r.errLines[0]).toMatch(new RegExp(`^${command}: `));
  expect(r.errLines[0]).toMatch(message);
  expect(r.errLines[0]!.length).toBeLessThan(1200);
  expect(r.errLines[0]).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);
  expect(r.exitCode).toBe(2);
}

function hostileCommand(dir: string, first: string[]): string {
  const command = buildQemuCommand({ accel: 'tcg', kernel: path.join(dir, 'bzImage'), consoleLog: path.join(dir, 'console.log'), cpus: 1, seconds: 5, suite: getSuite('rcu') });
  return formatQemuCmdFile({ ...command, argv: [...first, ...command.argv.slice(1)] });
}

describe('class 1: a run directory cannot make kvm-again run a program', () => {
  it('a qemu-cmd starting with sh -c is refused with one line; the shell never runs', async () => {
    const base = tree();
    const run = writeFakeRun(path.join(base, 'old'), [{ id: 'TREE01', batch: 1 }]);
    const marker = path.join(base, 'PWNED');
    writeFileSync(path.join(run, 'TREE01/qemu-cmd'), hostileCommand(path.join(run, 'TREE01'), ['sh', '-c', `touch ${marker}`]));
    const r = await runCli('kvm-again', [run, '--accel', 'tcg', '--duration', '1', '--boot-timeout', '2', '--results', path.join(base, 'res')], { cwd: base });
    expect(existsSync(marker)).toBe(false);
    expectOneLine(r, 'kvm-again', /starts with "sh", not a qemu kvm-farm knows/);
  }, 60_000);
});

describe('class 2: nothing is written through links or out of the run directory', () => {
  it('kvm-recheck replaces a summary.json symlink and leaves its target alone', async () => {
    const base = tree({ 'victim.txt': 'precious\n' });
    const run = writeFakeRun(path.join(base, 'run'), [{ id: 'TREE01', batch: 1, verdict: 'pass' }]);
    symlinkSync(path.join(base, 'victim.txt'), path.join(run, 'summary.json'));
    const r = await runCli('kvm-recheck', [run], { cwd: base });
    expect(readFileSync(path.join(base, 'victim.txt'), 'utf8')).toBe('precious\n');
    expect(lstatSync(path.join(run, 'summary.json')).isFile()).toBe(true);
    expect(r.errLines).toEqual([]);
  }, 60_000);

  it('kvm-recheck refuses a symlinked instance directory and writes nothing there', async () => {
    const base = tree();
    const run = writeFakeRun(path.join(base, 'run'), [{ id: 'TREE01', batch: 1 }]);
    const elsewhere = path.join(base, 'elsewhere');
    execFileSync('mv', [path.join(run, 'TREE01'), elsewhere]);
    symlinkSync(elsewhere, path.join(run, 'TREE01'));
    const before = readdirSync(elsewhere).sort();
    const r = await runCli('kvm-recheck', [run], { cwd: base });
    expect(readdirSync(elsewhere).sort()).toEqual(before);
    expectOneLine(r, 'kvm-recheck', /leads outside/);
  }, 60_000);

  it('a scenarios file naming ../ESCAPED is refused before anything is made', async () => {
    const base = tree();
    const run = writeFakeRun(path.join(base, 'run'), [{ id: 'TREE01', batch: 1 }]);
    writeFileSync(path.join(run, 'scenarios'), '1.  TREE01 ../ESCAPED\n');
    const again = await runCli('kvm-again', [run, '--dryrun', '--results', path.join(base, 'res')], { cwd: base });
    const recheck = await runCli('kvm-recheck', [run], { cwd: base });
    expect(existsSync(path.join(base, 'ESCAPED'))).toBe(false);
    expect(existsSync(path.join(base, 'res'))).toBe(false);
    expectOneLine(again, 'kvm-again', /names instance "\.\.\/ESCAPED"/);
    expectOneLine(recheck, 'kvm-recheck', /names instance "\.\.\/ESCAPED"/);
  }, 60_000);

  it('kvm-again --rundir inside the run it reruns is refused', async () => {
    const base = tree();
    const run = writeFakeRun(path.join(base, 'run'), [{ id: 'TREE01', batch: 1 }]);
    const r = await runCli('kvm-again', [run, '--dryrun', '--rundir', path.join(run, 'TREE01', 'again')], { cwd: base });
    expect(existsSync(path.join(run, 'TREE01', 'again'))).toBe(false);
    expectOneLine(r, 'kvm-again', /--rundir .* is inside .*only reads/);
  }, 60_000);

  it('kvm-run --defconfig=/../../x is refused before a run directory is made', async () => {
    const base = tree({ 'linux/Makefile': 'all:\n', 'linux/Kconfig': '', 'linux/arch/x': '', 'linux/scripts/kconfig/x': '' });
    const r = await runCli('kvm-run', ['--kernel-dir', path.join(base, 'linux'), '--defconfig=/../../x', '--configs', 'UP01', '--results', path.join(base, 'res')], {
      cwd: base, env: { ...process.env, KVM_FARM_CACHE: path.join(base, 'cache') },
    });
    expect(existsSync(path.join(base, 'res'))).toBe(false);
    expectOneLine(r, 'kvm-run', /--defconfig "\/\.\.\/\.\.\/x" is not a make config target/);
  }, 60_000);
});

describe('class 3: only regular files inside the directory are read', () => {
  it('a CFLIST that is a FIFO is refused at once instead of hanging', async () => {
    const scen = tree({ TINY01: 'CONFIG_SMP=n\n' });
    execFileSync('mkfifo', [path.join(scen, 'CFLIST')]);
    const r = await runCli('kvm-run', ['--scenarios', scen, '--dryrun', 'batches'], { cwd: scen, timeoutMs: 20_000 });
    expectOneLine(r, 'kvm-run', /CFLIST is a FIFO, not a regular file/);
  }, 30_000);

  it('a fragment linked to a secret is refused without quoting it', async () => {
    const secret = tree({ shadow: 'root:$6$verysecret:19000::::::\n' });
    const scen = tree({ CFLIST: 'TINY01\n' });
    symlinkSync(path.join(secret, 'shadow'), path.join(scen, 'TINY01'));
    const r = await runCli('kvm-run', ['--scenarios', scen, '--dryrun', 'batches'], { cwd: scen });
    expect(r.stderr + r.stdout).not.toContain('verysecret');
    expectOneLine(r, 'kvm-run', /TINY01 leads outside/);
  }, 30_000);

  it('kvm-recheck of a run whose testid.txt links to /dev/zero and report.html to a victim neither hangs nor writes through', async () => {
    // The property test's first finding once report.html came in: reading testid.txt ran out of memory.
    const base = tree({ 'victim.html': 'precious\n' });
    const run = writeFakeRun(path.join(base, 'run'), [{ id: 'TREE01', batch: 1, verdict: 'pass' }]);
    rmSync(path.join(run, 'testid.txt'));
    symlinkSync('/dev/zero', path.join(run, 'testid.txt'));
    symlinkSync(path.join(base, 'victim.html'), path.join(run, 'report.html'));
    const r = await runCli('kvm-recheck', [run], { cwd: base, timeoutMs: 30_000 });
    expect(r.timedOut).toBe(false);
    expect(r.errLines).toEqual([]);
    expect(readFileSync(path.join(base, 'victim.html'), 'utf8')).toBe('precious\n');
  }, 60_000);

  it('kvm-again --link copy does not copy a kernel that links out of the run', async () => {
    const base = tree({ 'secret/id_rsa': 'PRIVATE KEY\n' });
    const run = writeFakeRun(path.join(base, 'run'), [{ id: 'TREE01', batch: 1 }]);
    rmSync(path.join(run, 'TREE01/bzImage'));
    symlinkSync(path.join(base, 'secret/id_rsa'), path.join(run, 'TREE01/bzImage'));
    const r = await runCli('kvm-again', [run, '--dryrun', '--link', 'copy', '--rundir', path.join(base, 'new')], { cwd: base });
    const copied = path.join(base, 'new/TREE01/bzImage');
    expect(existsSync(copied) && readFileSync(copied, 'utf8').includes('PRIVATE')).toBe(false);
    expectOneLine(r, 'kvm-again', /bzImage leads outside/);
  }, 60_000);
});

describe('class 5: user-caused errors are one line naming the value', () => {
  it('--ssh-config naming a directory', async () => {
    const base = tree({ 'conf/x': '' });
    const r = await runCli('kvm-remote', ['h1', '--ssh-config', path.join(base, 'conf'), '--configs', 'UP01', '--results', path.join(base, 'res')], { cwd: base });
    expectOneLine(r, 'kvm-remote', /ssh config .*conf is not a regular file/);
    expect(existsSync(path.join(base, 'res'))).toBe(false);
  }, 30_000);

  it('an invalid guest.json', async () => {
    const base = tree();
    const run = writeFakeRun(path.join(base, 'run'), [{ id: 'TREE01', batch: 1 }]);
    writeFileSync(path.join(run, 'TREE01/guest.json'), '{"instance": "TREE01", nope');
    expectOneLine(await runCli('kvm-recheck', [run], { cwd: base }), 'kvm-recheck', /TREE01\/guest\.json is not valid JSON/);
  }, 30_000);

  it('a console.log that is a directory', async () => {
    const base = tree();
    const run = writeFakeRun(path.join(base, 'run'), [{ id: 'TREE01', batch: 1 }]);
    rmSync(path.join(run, 'TREE01/console.log'));
    mkdirSync(path.join(run, 'TREE01/console.log'));
    expectOneLine(await runCli('kvm-recheck', [run], { cwd: base }), 'kvm-recheck', /console\.log is a directory/);
  }, 30_000);

  it('--results naming a file, and an instance id sub/X, leave no half-made run directory', async () => {
    const base = tree({ 'a-file': '' });
    const run = writeFakeRun(path.join(base, 'run'), [{ id: 'TREE01', batch: 1 }]);
    expectOneLine(await runCli('kvm-again', [run, '--dryrun', '--results', path.join(base, 'a-file')], { cwd: base }), 'kvm-again', /a-file.*not a directory/);
    writeFileSync(path.join(run, 'scenarios'), '1.  sub/X\n');
    expectOneLine(await runCli('kvm-again', [run, '--dryrun', '--results', path.join(base, 'res')], { cwd: base }), 'kvm-again', /"sub\/X"/);
    expect(existsSync(path.join(base, 'res'))).toBe(false);
  }, 60_000);
});

describe('class 6: text from files is printable and bounded', () => {
  it('a 10 MB fragment line with terminal escapes reaches stderr as one short printable line', async () => {
    const scen = tree({ CFLIST: 'TINY01\n' });
    writeFileSync(path.join(scen, 'TINY01'), `\x1b]0;owned\x07\x1b[2J${'A'.repeat(10 * 1024 * 1024)}\n`);
    const r = await runCli('kvm-run', ['--scenarios', scen, '--dryrun', 'batches'], { cwd: scen });
    expect(r.stderr.length).toBeLessThan(2000);
    expect(r.stderr).not.toContain('\x1b');
    expectOneLine(r, 'kvm-run', /\\x1b\]0;owned\\x07.*characters, cut/);
  }, 60_000);

  it('a 50 MB fragment is refused by size, the limit named', async () => {
    const scen = tree({ CFLIST: 'TINY01\n' });
    writeFileSync(path.join(scen, 'TINY01'), `${'A'.repeat(50 * 1024 * 1024)}\n`);
    const r = await runCli('kvm-run', ['--scenarios', scen, '--dryrun', 'batches'], { cwd: scen });
    expectOneLine(r, 'kvm-run', /TINY01 is 52428801 bytes, over the limit of 16777216/);
  }, 60_000);
});
