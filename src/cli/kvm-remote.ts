import { createLogUpdate } from 'log-update';
import { formatProgress, remote, resume, type RemoteInput, type RemoteProgress, type RemoteSummary, type ResumeOptions } from '../index.js';
import { parseDuration } from '../util/duration.js';
import { EXIT, reportError, usageError } from './errors.js';
import { AGAIN_FLAGS, refuse, refusedFlag, REMOTE_FLAGS, RUN_FLAGS, wholeNumber, type FlagSpec } from './flags.js';
import { againInputFromFlags, againParser } from './kvm-again.js';
import { runAndReport, stdio, type Io } from './io.js';
import { definedOnly, flagText, runInputFromFlags, strictParser, wantsHelp, type ParsedFlags } from './run-args.js';
import { wantsLiveView } from '../util/terminal.js';
import { parseSlurmWord, splitSlurmArgs } from './slurm-args.js';

const USAGE = 'kvm-remote "HOST1 HOST2 ..." [kvm-run options]\nkvm-remote "HOST1 HOST2 ..." RUNDIR [kvm-again options]\nkvm-remote --resume RUNDIR [--ssh-config FILE] [--accept-new-host-keys] [--qemu-cmd BIN]\nkvm-remote --slurm "SALLOC ARGS" [RUNDIR] [options]';

/** `--gather-timeout`: a bare number is seconds here (a wait for hosts, not a test duration). */
export function parseGatherTimeout(text: string, flag = '--gather-timeout'): number {
  return parseDuration(/^\d+$/.test(text.trim()) ? `${text.trim()}s` : text, flag) * 1000;
}

/** The hosts word: names separated by spaces, as kvm-remote.sh takes them; each name is checked by the library. */
export function parseHostList(text: string): string[] {
  const hosts = text.split(/[\s,]+/).filter((h) => h !== '');
  if (hosts.length === 0) throw usageError(`no hosts in "${text}": give e.g. "h1 h2" or "localhost"`);
  return hosts;
}

/** kvm.sh's and kvm-again.sh's flags that cannot apply to a run on other hosts, and why. */
const REMOTE_REFUSALS: Record<string, string> = {
  allcpus: 'each host runs on all of its own CPUs already',
  gdb: 'a debugger attaches to a guest on this machine; use kvm-run --gdb',
  remote: 'kvm-remote passes it on by itself; leave it out',
};

function remoteSpecs(specs: readonly FlagSpec[], dryrunWhy: string): FlagSpec[] {
  const out = specs.map((s) => (REMOTE_REFUSALS[s.name] !== undefined ? refuse(s, REMOTE_REFUSALS[s.name]!) : s.name === 'dryrun' ? refuse(s, dryrunWhy) : s));
  if (!out.some((s) => s.name === 'dryrun')) out.push(refusedFlag('dryrun', 'value', dryrunWhy));
  return [...out, ...REMOTE_FLAGS];
}

/** kvm-remote's flags when it builds (kvm.sh's), and when it reruns a run directory (kvm-again.sh's). */
export const REMOTE_BUILD_SPECS = remoteSpecs(RUN_FLAGS, 'kvm-remote always boots; see the plan with kvm-run --dryrun');
export const REMOTE_AGAIN_SPECS = remoteSpecs(AGAIN_FLAGS, 'kvm-remote always boots; prepare a directory with kvm-again --dryrun instead');

type RemoteFields = Omit<RemoteInput, 'hosts' | 'source' | 'log' | 'signal' | 'onProgress'>;

function remoteFields(flags: ParsedFlags): RemoteFields {
  const text = (name: string) => flagText(flags, name);
  const number = (name: string) => (text(name) === undefined ? undefined : wholeNumber(`--${name}`, text(name)!));
  return definedOnly<RemoteFields>({
    remoteDir: text('remote-dir'),
    shipConcurrency: number('ship-concurrency'),
    keepRemote: flags['keep-remote'] as boolean | undefined,
    acceptNewHostKeys: flags['accept-new-host-keys'] as boolean | undefined,
    sshConfigFile: text('ssh-config'),
    minHosts: number('min-hosts'),
    gatherTimeoutMs: text('gather-timeout') === undefined ? undefined : parseGatherTimeout(text('gather-timeout')!),
    retries: number('retries'),
    buildOn: text('build-on') as RemoteInput['buildOn'],
    // 0 is a grace too: rerun a lost host's instances at once, as before --lost-grace existed.
    lostGraceMs: text('lost-grace') === undefined ? undefined : /^\s*0+s?\s*$/.test(text('lost-grace')!) ? 0 : parseGatherTimeout(text('lost-grace')!, '--lost-grace'),
  });
}

/**
 * Parses kvm-remote's command line without starting anything. As in kvm-remote.sh,
 * a second word that is not an option names an earlier run to rerun.
 */
export async function parseKvmRemoteArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<RemoteInput> {
  const slurm = splitSlurmArgs(argv);
  if (slurm) {
    // The same options as with a host list; the hosts come from the allocation.
    const parsed = await parseKvmRemoteArgs(['slurm-allocation', ...slurm.rest], env);
    return { ...parsed, hosts: [], slurm: parseSlurmWord(slurm.word, env) };
  }
  const [hostWord, second] = argv;
  if (hostWord === undefined || hostWord.startsWith('-')) throw usageError(`usage: ${USAGE.split('\n')[0]}`);
  const hosts = parseHostList(hostWord);
  if (second !== undefined && !second.startsWith('-')) {
    const flags = (await againParser(argv.slice(2), 'kvm-remote', USAGE, REMOTE_AGAIN_SPECS).parseAsync()) as ParsedFlags;
    if (flags._.length > 0) throw usageError(`unexpected word "${flags._[0]}" after the run directory`);
    const link = flagText(flags, 'link');
    if (link === 'inplace' || link === 'inplace-force') throw usageError(`--link ${link}: kvm-remote gathers results into a new run directory; use --link hard, soft or copy`);
    if (flags['build-on'] !== undefined) throw usageError('--build-on: a rerun builds nothing; it boots the kernels of the run directory given');
    const again = againInputFromFlags(flags, second);
    return { hosts, source: { kind: 'again', options: again }, ...(again.accel ? { accel: again.accel } : {}), ...remoteFields(flags) };
  }
  const flags = (await strictParser(argv.slice(1), 'kvm-remote', USAGE, REMOTE_BUILD_SPECS).parseAsync()) as ParsedFlags;
  if (flags._.length > 0) throw usageError(`unexpected word "${flags._[0]}": options only after the host list (or give RUNDIR right after it)`);
  if (flags.jitter !== undefined && flagText(flags, 'jitter')!.trim() !== '0') {
    throw usageError('--jitter: kvm-remote does not run jitter on the hosts; use kvm-run --jitter on each machine, or leave it out');
  }
  const run = runInputFromFlags(flags);
  const { buildonly, ...build } = run;
  return { hosts, source: { kind: 'build', options: build }, ...(build.accel ? { accel: build.accel } : {}), ...(buildonly ? { buildonly: true } : {}), ...remoteFields(flags) };
}

/**
 * `--resume RUNDIR` and the few options a resumed run takes: how to reach the hosts
 * and which qemu to run there. Everything else is the run's own, from its journal.
 */
export function parseResumeArgs(argv: string[]): ResumeOptions {
  const [, runDir, ...rest] = argv;
  if (runDir === undefined || runDir.startsWith('-')) throw usageError('--resume needs the run directory: kvm-remote --resume RUNDIR');
  const options: ResumeOptions = { runDir };
  for (let i = 0; i < rest.length; i++) {
    const word = rest[i]!;
    const value = (): string => {
      const v = rest[++i];
      if (v === undefined) throw usageError(`${word} needs a value`);
      return v;
    };
    if (word === '--ssh-config' || word === '-F') options.sshConfigFile = value();
    else if (word === '--qemu-cmd') options.qemuCmd = value();
    else if (word === '--accept-new-host-keys') options.acceptNewHostKeys = true;
    else throw usageError(`--resume takes only --ssh-config, --accept-new-host-keys and --qemu-cmd (the rest is the run's own): "${word}"`);
  }
  return options;
}

/** One line per host after the usual summary: how it served the run. */
export function printHosts(summary: RemoteSummary, out: (line: string) => void): void {
  for (const h of summary.builds?.hosts ?? []) {
    if (!h.builder) out(`build ${h.name}: guests only (${h.why ?? 'cannot build'})`);
    else out(`build ${h.name}: ${h.builds.length} kernel(s) built with -j${h.cpus}, ${h.source ? `${h.source.bytes} source bytes sent` : 'no source sent'}${h.lost ? `; lost: ${h.lost}` : ''}`);
  }
  if (summary.builds?.builtHere.length) out(`built here after losing their hosts: ${summary.builds.builtHere.join(' ')}`);
  for (const h of summary.hosts) {
    if (h.failure) {
      out(`host ${h.name}: FAILED: ${h.failure}${h.batches.length ? ` (after ${h.batches.length} batch(es))` : ''}`);
      continue;
    }
    const shipped = h.shipMs === undefined ? 'nothing shipped' : `${h.blobBytesShipped} kernel bytes shipped in ${(h.shipMs / 1000).toFixed(2)} s`;
    const lost = h.losses > 0 ? `, lost ${h.losses} time(s) and rejoined` : '';
    out(`host ${h.name}: ${h.cpus} CPUs, ${h.accel}, ${h.batches.length} batch(es), ${shipped}${lost}`);
  }
}

/**
 * On a terminal (and not CI) the progress line is rewritten in place under the event
 * lines; otherwise each change is one plain `progress:` line.
 */
export function progressOutput(io: Io, live: boolean): { out: (line: string) => void; progress: (p: RemoteProgress) => void; done: () => void } {
  if (!live) return { out: io.out, progress: (p) => io.out(`progress: ${formatProgress(p)}`), done: () => {} };
  const update = createLogUpdate(process.stdout, { showCursor: true });
  let last = '';
  return {
    out(line) {
      update.clear();
      io.out(line);
      if (last) update(last);
    },
    progress(p) {
      last = formatProgress(p).slice(0, Math.max(40, (process.stdout.columns ?? 80) - 1));
      update(last);
    },
    done() {
      update.done();
    },
  };
}

function isLive(io: Io, env: NodeJS.ProcessEnv = process.env): boolean {
  return io === stdio && wantsLiveView(process.stdout, env);
}

/** kvm-remote: build here (or take an earlier run's kernels), run the batches on ssh hosts, judge here. */
export async function main(argv: string[], io: Io = stdio): Promise<number> {
  try {
    if (wantsHelp(argv)) {
      io.out(await strictParser([], 'kvm-remote', USAGE, REMOTE_BUILD_SPECS).getHelp());
      io.out('\nWith RUNDIR, kvm-again\'s options apply instead of kvm-run\'s (see kvm-again --help).');
      return EXIT.ok;
    }
    if (argv[0] === '--resume') {
      const options = parseResumeArgs(argv);
      const display = progressOutput(io, isLive(io));
      return await runAndReport(io, async (signal) => {
        try {
          return await resume({ ...options, log: display.out, onProgress: display.progress, signal });
        } finally {
          display.done();
        }
      }, (summary) => printHosts(summary, io.out));
    }
    const options = await parseKvmRemoteArgs(argv);
    const display = progressOutput(io, isLive(io));
    return await runAndReport(io, async (signal) => {
      try {
        return await remote({ ...options, log: display.out, onProgress: display.progress, signal });
      } finally {
        display.done();
      }
    }, (summary) => printHosts(summary, io.out));
  } catch (error) {
    return reportError('kvm-remote', error, io.err);
  }
}
