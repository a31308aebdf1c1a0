import { execFileSync } from 'node:child_process';
import { appendFileSync, chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { main as kvmAgain } from '../../src/cli/kvm-again.js';
import { main as kvmRecheck } from '../../src/cli/kvm-recheck.js';
import { main as kvmRemote } from '../../src/cli/kvm-remote.js';
import { main as kvmRun } from '../../src/cli/kvm-run.js';
import { writeFakeRun } from '../again/fake-run.js';

/**
 * Issue 13's promise as a property: whatever the arguments and however the run
 * directory is mangled (links, FIFOs, `..` names, huge numbers, binary bytes),
 * each of the four commands, called in-process, exits 0, 1 or 2 with at most two
 * lines on stderr, writes nothing outside its temporary tree (nor in the run it
 * only reads), changes no file outside, starts no qemu or make, and is done in 10 s.
 * Nothing boots: kvm-run and kvm-again always get --dryrun, kvm-remote's hosts are
 * unreachable, and fake qemu and make binaries early on PATH record any start.
 */

const RUNS = Number(process.env.KVMFARM_PROPERTY_RUNS ?? 150);
/** A fresh seed each run (printed, so a finding can be replayed with KVMFARM_PROPERTY_SEED). */
const SEED = Number(process.env.KVMFARM_PROPERTY_SEED ?? (Date.now() % 2 ** 31));
/** Catches a hang, not slowness: a loaded CI machine may take seconds for one refusal. */
const LIMIT_MS = 60_000;
const parent = mkdtempSync(path.join(os.tmpdir(), 'kvmfarm-prop-'));
afterAll(() => rmSync(parent, { recursive: true, force: true }));

const RUN_FILES = ['scenarios', 'torture_suite', 'summary.json', 're-run', 'testid.txt', 'log', 'TREE01', 'TREE01/qemu-cmd', 'TREE01/console.log',
  'TREE01/guest.json', 'TREE01/bzImage', 'TREE01/verdict.json', 'TREE01/vmlinux', 'TREE01/qemu-retval', 'TINY01.2/qemu-cmd'];
const SCEN_FILES = ['CFLIST', 'CFcommon', 'TINY01', 'TINY01.boot', 'TREE01'];

type Mutation =
  | { kind: 'link'; where: 'run' | 'scen'; file: string; to: string }
  | { kind: 'fifo' | 'dir' | 'remove'; where: 'run' | 'scen'; file: string }
  | { kind: 'bytes'; where: 'run' | 'scen'; file: string; text: string };

const hostileText = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('latin1')),
  fc.constantFrom('99999999999999999999', '1e309', '-1', 'NaN', '\x1b[2J\x1b]0;owned\x07', '..', '../ESCAPED', 'sub/X', '{"instance":1}', 'null',
    '1.  ../ESCAPED\n', '1.  TREE01 ..\n', '1.  sub/X\n', 'constructor', '__proto__', "sh -c 'touch PWNED'\n", '/tmp/evil/qemu-system-x86_64 -kernel k -serial file:c -append x\n',
    'qemu-system-x86_64 -plugin file=/tmp/x.so -kernel k -serial file:c -append x\n', '{"kind":"fail","reasons":[1],"quoted":"x","gracePeriodRate":"z"}',
    '{"instance":"TREE01","host":"h","exitCode":0,"signal":null,"timedOut":false,"noOutput":false,"stopped":false,"startError":null,"durationMs":1e400,"logPath":"/etc/shadow","token":"t","accel":"tcg"}'),
  fc.integer({ min: 1, max: 3 }).map((n) => 'A'.repeat(n * 100_000)),
);

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('link' as const), where: fc.constant('run' as const), file: fc.constantFrom(...RUN_FILES),
    to: fc.constantFrom('/dev/zero', 'OUTSIDE/secret', 'OUTSIDE/victim', 'OUTSIDE', '/', '../../OUTSIDE/secret', 'dangling', 'TINY01.2') }),
  fc.record({ kind: fc.constant('link' as const), where: fc.constant('scen' as const), file: fc.constantFrom(...SCEN_FILES),
    to: fc.constantFrom('/dev/zero', 'OUTSIDE/secret', 'OUTSIDE', 'dangling', 'TINY01') }),
  fc.record({ kind: fc.constantFrom('fifo' as const, 'dir' as const, 'remove' as const), where: fc.constantFrom('run' as const, 'scen' as const),
    file: fc.constantFrom(...RUN_FILES, ...SCEN_FILES) }),
  fc.record({ kind: fc.constant('bytes' as const), where: fc.constantFrom('run' as const, 'scen' as const), file: fc.constantFrom(...RUN_FILES, ...SCEN_FILES), text: hostileText }),
);

const COMMANDS = {
  'kvm-run': kvmRun,
  'kvm-again': kvmAgain,
  'kvm-recheck': kvmRecheck,
  'kvm-remote': kvmRemote,
} as const;
type Name = keyof typeof COMMANDS;

/** Each command's own flags: most words reach past argument parsing. */
const FLAGS: Record<Name, string[]> = {
  'kvm-run': ['--duration', '--cpus', '--configs', '--bootargs', '--datestamp', '--defconfig', '--memory', '--qemu-cmd', '--kconfig', '--torture', '--results', '--buildonly', '--kernel-dir'],
  'kvm-again': ['--duration', '--cpus', '--configs', '--results', '--rundir', '--bootargs', '--link', '--boot-timeout', '--shutdown-grace', '--qemu-cmd', '--failed', '--accel'],
  'kvm-recheck': [],
  'kvm-remote': ['--duration', '--cpus', '--configs', '--results', '--rundir', '--bootargs', '--retries', '--min-hosts', '--remote-dir', '--ship-concurrency', '--link', '--failed'],
};

/** Hostile values, some naming this case's own paths. */
const value = (t: Tree) => fc.oneof(
  fc.constantFrom('..', '../ESCAPED', '/../../x', '-rf', '25d', '99999999999999999999d', '99999999*UP01', '1e309', '-1', '0', '1', 'copy', 'soft', 'hard', 'sub/X',
    'TREE01', 'TINY01.2', 'TREE01 TINY01.2', 'UP01', 'TINY01', '2*TINY01', '\x1b[31mred', 'a\nb', '$(touch PWNED)', '/dev/zero', t.run, t.scen, path.join(t.run, 'TREE01'),
    path.join(t.root, 'res', 'x'), path.join(t.run, 'again'), t.outside, path.join(t.outside, 'victim'), path.join(t.run, 'scenarios')),
  fc.string({ maxLength: 12 }),
);

/** Argument words: the command's flags with hostile values, now and then a hostile word on its own. */
const words = (name: Name, t: Tree) => fc.array(
  FLAGS[name].length === 0
    ? value(t).map((v) => [v])
    : fc.oneof({ weight: 5, arbitrary: fc.tuple(fc.constantFrom(...FLAGS[name]), value(t)).map(([f, v]) => [f, v]) }, { weight: 1, arbitrary: value(t).map((v) => [v]) }),
  { maxLength: 4 },
).map((groups) => groups.flat());

interface Tree {
  root: string;
  run: string;
  scen: string;
  outside: string;
  marks: string;
}

function makeCase(n: number): Tree {
  const root = path.join(parent, `case-${n}`);
  const t: Tree = { root, run: path.join(root, 'w/run'), scen: path.join(root, 'w/scen'), outside: path.join(root, 'OUTSIDE'), marks: path.join(root, 'marks') };
  for (const d of [t.outside, t.marks, path.join(root, 'tmp'), path.join(root, 'cwd'), path.join(root, 'bin'), t.scen]) mkdirSync(d, { recursive: true });
  writeFileSync(path.join(t.outside, 'secret'), 'root:verysecret:19000\n');
  writeFileSync(path.join(t.outside, 'victim'), 'precious\n');
  writeFakeRun(t.run, [{ id: 'TREE01', batch: 1, verdict: 'pass' }, { id: 'TINY01.2', batch: 2, verdict: 'fail' }], 5);
  writeFileSync(path.join(t.run, 'TREE01/guest.json'), JSON.stringify({ instance: 'TREE01', host: 'localhost', exitCode: 0, signal: null, timedOut: false, noOutput: false, stopped: false, startError: null, durationMs: 1, logPath: 'x', token: 't', accel: 'tcg' }));
  writeFileSync(path.join(t.scen, 'CFLIST'), 'TINY01\nTREE01\n');
  writeFileSync(path.join(t.scen, 'CFcommon'), 'CONFIG_RCU_TORTURE_TEST=y\n');
  writeFileSync(path.join(t.scen, 'TINY01'), 'CONFIG_SMP=n\n');
  writeFileSync(path.join(t.scen, 'TINY01.boot'), 'rcutorture.x=1\n');
  writeFileSync(path.join(t.scen, 'TREE01'), 'CONFIG_SMP=y\nCONFIG_NR_CPUS=8\n');
  // Anything that would start qemu or make leaves a mark instead.
  for (const name of ['qemu-system-x86_64', 'qemu-system-aarch64', 'qemu-system-ppc64', 'make', 'ssh']) {
    const bin = path.join(root, 'bin', name);
    writeFileSync(bin, `#!/bin/sh\ntouch "${t.marks}/${name}"\nexit 1\n`);
    chmodSync(bin, 0o755);
  }
  writeFileSync(path.join(root, 'ssh_config'), 'Host *\n  HostName 127.0.0.1\n  Port 1\n  User nobody\n');
  return t;
}

function applyMutation(t: Tree, m: Mutation): void {
  const file = path.join(m.where === 'run' ? t.run : t.scen, m.file);
  mkdirSync(path.dirname(file), { recursive: true });
  rmSync(file, { recursive: true, force: true });
  if (m.kind === 'remove') return;
  if (m.kind === 'fifo') execFileSync('mkfifo', [file]);
  else if (m.kind === 'dir') mkdirSync(file);
  else if (m.kind === 'bytes') writeFileSync(file, m.text, 'latin1');
  else if (m.kind === 'link') symlinkSync(m.to.startsWith('OUTSIDE') ? path.join(t.root, m.to) : m.to, file);
}

/** path → what identifies its content, for every entry under `dir` (links not followed). */
function snapshot(dir: string, out = new Map<string, string>()): Map<string, string> {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of names) {
    const p = path.join(dir, name);
    const s = lstatSync(p);
    const content = s.isFile() && s.size < 1_000_000 ? readFileSync(p).toString('base64') : String(s.size);
    out.set(p, `${s.mode}:${s.ino}:${s.mtimeMs}:${content}`);
    if (s.isDirectory()) snapshot(p, out);
  }
  return out;
}

/** The argument list a case runs: the hostile words, plus what keeps it from booting anything. */
function argvFor(name: Name, t: Tree, words: string[], useRun: boolean): string[] {
  const base = useRun ? [t.run] : [];
  if (name === 'kvm-run') return [...words, '--scenarios', t.scen, '--results', path.join(t.root, 'res'), '--dryrun', 'batches'];
  if (name === 'kvm-again') return [...base, ...words, '--dryrun'];
  if (name === 'kvm-recheck') return [...(useRun ? [t.run] : []), ...words.filter((w) => !w.startsWith('-'))];
  return ['h1 h2', ...base, ...words, '--ssh-config', path.join(t.root, 'ssh_config'), '--gather-timeout', '3'];
}

/** Where each command may write: its results and temporary directories; kvm-recheck also the run it rechecks. */
function allowed(name: Name, t: Tree, file: string): boolean {
  const roots = [path.join(t.root, 'res'), path.join(t.root, 'tmp'), path.join(t.root, 'cwd'), path.join(t.run, '..', 'again'), t.marks];
  if (name === 'kvm-recheck') roots.push(t.run);
  return roots.some((r) => file === r || file.startsWith(`${r}/`));
}

let cases = 0;
const found: string[] = [];
/** `command exit N` → how many cases ended so: shows the cases reach past argument parsing. */
const outcomes = new Map<string, number>();

describe('hostile arguments and run directories, all four commands in-process', () => {
  it(`keep the promise (${RUNS} cases)`, async () => {
    const savedEnv = { PATH: process.env.PATH, TMPDIR: process.env.TMPDIR, SSH_AUTH_SOCK: process.env.SSH_AUTH_SOCK };
    const savedCwd = process.cwd();
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...(Object.keys(COMMANDS) as Name[])),
          fc.array(mutation, { maxLength: 4 }),
          fc.array(fc.nat(1000), { maxLength: 6 }),
          fc.boolean(),
          async (name, mutations, wordSeeds, useRun) => {
            const t = makeCase(cases++);
            for (const m of mutations) {
              try {
                applyMutation(t, m);
              } catch {
                // A mutation that cannot apply here (a file where a directory was) is skipped.
              }
            }
            // Words are drawn per case, since some name this case's own paths.
            const drawn = fc.sample(words(name, t), { numRuns: 1, seed: wordSeeds.reduce((a, b) => (a * 31 + b) | 0, 7) })[0]!;
            const argv = argvFor(name, t, drawn, useRun || name === 'kvm-recheck');
            // A case that hangs the thread (a blocking read) never returns: the trace file names it.
            if (process.env.KVMFARM_PROPERTY_TRACE) appendFileSync(process.env.KVMFARM_PROPERTY_TRACE, `${cases - 1} ${name} ${JSON.stringify(argv)} ${JSON.stringify(mutations).slice(0, 400)}\n`);
            const before = snapshot(t.root);
            const beforeParent = readdirSync(parent).filter((n) => n !== path.basename(t.root) && !n.startsWith('case-'));
            const err: string[] = [];
            process.env.PATH = `${path.join(t.root, 'bin')}:${savedEnv.PATH}`;
            process.env.TMPDIR = path.join(t.root, 'tmp');
            delete process.env.SSH_AUTH_SOCK;
            process.chdir(path.join(t.root, 'cwd'));
            const started = Date.now();
            let status: number;
            try {
              status = await COMMANDS[name](argv, { out: () => {}, err: (l) => err.push(l) });
            } finally {
              process.chdir(savedCwd);
              process.env.PATH = savedEnv.PATH;
              if (savedEnv.TMPDIR === undefined) delete process.env.TMPDIR;
              else process.env.TMPDIR = savedEnv.TMPDIR;
              if (savedEnv.SSH_AUTH_SOCK !== undefined) process.env.SSH_AUTH_SOCK = savedEnv.SSH_AUTH_SOCK;
            }
            const elapsed = Date.now() - started;
            const outcome = `${name} ${status}${err[0] ? ` ${err[0].replace(/^kvm-\w+: /, '').replace(/["/].*$/, '').slice(0, 40)}` : ''}`;
            outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
            const after = snapshot(t.root);
            const changed = [...new Set([...before.keys(), ...after.keys()])].filter((p) => before.get(p) !== after.get(p) && !allowed(name, t, p));
            const lines = err.flatMap((l) => l.split('\n'));
            const what = `${name} ${JSON.stringify(argv)} after ${JSON.stringify(mutations).slice(0, 600)}`;
            const problems = [
              ...([0, 1, 2].includes(status) ? [] : [`exit ${status}`]),
              ...(lines.length <= 2 ? [] : [`${lines.length} stderr lines: ${lines.slice(0, 3).join(' | ').slice(0, 300)}`]),
              ...(err.some((l) => /[\x00-\x08\x0b-\x1f\x7f]/.test(l) || l.length > 2000) ? ['unprintable or unbounded stderr'] : []),
              ...(changed.length === 0 ? [] : [`changed outside what it may write: ${changed.slice(0, 3).join(', ')}`]),
              ...(readdirSync(t.marks).length === 0 ? [] : [`started ${readdirSync(t.marks).join(', ')}`]),
              ...(elapsed < LIMIT_MS ? [] : [`took ${elapsed} ms`]),
              ...(readdirSync(parent).filter((n) => n !== path.basename(t.root) && !n.startsWith('case-')).length === beforeParent.length ? [] : ['wrote beside its tree']),
              ...(err.join('\n').includes('verysecret') ? ['quoted the secret'] : []),
            ];
            rmSync(t.root, { recursive: true, force: true });
            if (problems.length > 0) {
              found.push(`${problems.join('; ')}: ${what}`);
              return false;
            }
            return true;
          },
        ),
        { numRuns: RUNS, endOnFailure: true, seed: SEED },
      );
    } finally {
      process.chdir(savedCwd);
      // The count and the first finding, for the issue's closing note.
      console.log(`hostile property: seed ${SEED}, ${cases} case(s) run${found.length > 0 ? `; first finding: ${found[0]}` : ''}`);
      if (process.env.KVMFARM_PROPERTY_OUTCOMES) console.log([...outcomes].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${v}\t${k}`).join('\n'));
    }
  }, 30 * 60_000);
});
