import { createLogUpdate } from 'log-update';
import { formatProgress, remote, type RemoteInput, type RemoteProgress, type RemoteSummary } from '../index.js';
import { parseDuration } from '../util/duration.js';
import { EXIT, reportError, usageError } from './errors.js';
import { AGAIN_FLAGS, refuse, refusedFlag, REMOTE_FLAGS, RUN_FLAGS, wholeNumber, type FlagSpec } from './flags.js';
import { againInputFromFlags, againParser } from './kvm-again.js';
import { runAndReport, stdio, type Io } from './io.js';
import { definedOnly, flagText, runInputFromFlags, strictParser, wantsHelp, type ParsedFlags } from './run-args.js';
import { wantsLiveView } from '../util/terminal.js';
import { parseSlurmWord, splitSlurmArgs } from './slurm-args.js';

const USAGE = 'kvm-remote "HOST1 HOST2 ..." [kvm-run options]\nkvm-remote "HOST1 HOST2 ..." RUNDIR [kvm-again options]\nkvm-remote --slurm "SALLOC ARGS" [RUNDIR] [options]';

/** `--gather-timeout`: a bare number is seconds here (a wait for hosts, not a test duration). */
export function parseGatherTimeout(text: string): number {
  return parseDuration(/^\d+$/.test(text.trim()) ? `${text.trim()}s` : text, '--gather-timeout') * 1000;
}

/** The hosts word: names separated by spaces, as kvm-remote.sh takes them; each name is checked by the library. */
export function parseHostList(text: string): string[] {
  const hosts = text.split(/[\s,]+/).filter((h) => h !== '');
  if (hosts.length === 0) throw usageError(`no hosts in "${text}": give e.g. "h1 h2" or "localhost"`);
  return hosts;
}

/** kvm.sh's and kvm-again.sh's flags that cannot apply to a run on other hosts, and why. */
const REMOTE_REFUSALS: Record<string, string> = {
  buildonly: 'kvm-remote builds and then runs on the hosts; use kvm-run --buildonly to only build',
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
    const again = againInputFromFlags(flags, second);
    return { hosts, source: { kind: 'again', options: again }, ...(again.accel ? { accel: again.accel } : {}), ...remoteFields(flags) };
  }
  const flags = (await strictParser(argv.slice(1), 'kvm-remote', USAGE, REMOTE_BUILD_SPECS).parseAsync()) as ParsedFlags;
  if (flags._.length > 0) throw usageError(`unexpected word "${flags._[0]}": options only after the host list (or give RUNDIR right after it)`);
  if (flags.jitter !== undefined && flagText(flags, 'jitter')!.trim() !== '0') {
    throw usageError('--jitter: kvm-remote does not run jitter on the hosts; use kvm-run --jitter on each machine, or leave it out');
  }
  const run = runInputFromFlags(flags);
  return { hosts, source: { kind: 'build', options: run }, ...(run.accel ? { accel: run.accel } : {}), ...remoteFields(flags) };
}

/** One line per host after the usual summary: how it served the run. */
export function printHosts(summary: RemoteSummary, out: (line: string) => void): void {
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
