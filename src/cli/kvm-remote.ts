import { createLogUpdate } from 'log-update';
import type { Argv } from 'yargs';
import { formatProgress, remoteRun, type RemoteOptions, type RemoteProgress, type RemoteSummary } from '../remote/index.js';
import { DEFAULT_RETRIES } from '../fleet/requeue.js';
import { GATHER_TIMEOUT_MS } from '../remote/remote-run.js';
import { DEFAULT_REMOTE_DIR } from '../remote/remote-paths.js';
import { parseDuration } from '../util/duration.js';
import type { AccelRequest } from '../run/options.js';
import { EXIT, reportError, usageError } from './errors.js';
import { againOptionsFromFlags, defineAgainFlags } from './kvm-again.js';
import { runAndReport, stdio, type Io } from './io.js';
import { defineRunFlags, positiveInteger, runOptionsFromFlags, strictParser, wantsHelp } from './run-args.js';

const USAGE = 'kvm-remote "HOST1 HOST2 ..." [kvm-run options]\nkvm-remote "HOST1 HOST2 ..." RUNDIR [kvm-again options]';

/** The flags kvm-remote adds to kvm-run's and kvm-again's. */
function defineRemoteFlags<T>(parser: Argv<T>) {
  return parser
    .option('remote-dir', { type: 'string', default: DEFAULT_REMOTE_DIR, describe: 'Work directory on each host: kernels/ (kept) and runs/<run>/' })
    .option('ship-concurrency', { type: 'string', describe: 'Hosts receiving kernels at once; 1 ships one after another (default: all)' })
    .option('keep-remote', { type: 'boolean', default: false, describe: 'Leave each host\'s runs/<run>/ in place' })
    .option('accept-new-host-keys', { type: 'boolean', default: false, describe: 'Record unknown host keys instead of refusing them (changed keys are always refused)' })
    .option('ssh-config', { type: 'string', alias: 'F', describe: 'Read only this ssh client config (as ssh -F)' })
    .option('min-hosts', { type: 'string', describe: 'Hosts that must be ready to start (default: all listed)' })
    .option('gather-timeout', { type: 'string', describe: `Once --min-hosts are ready, wait this long for the rest; also the limit for reaching --min-hosts: seconds (120) or 30s, 2m (default ${GATHER_TIMEOUT_MS / 1000}s)` })
    .option('retries', { type: 'string', describe: `Reruns of an instance whose host was lost under it (default ${DEFAULT_RETRIES})` });
}

type RemoteFlags = {
  'remote-dir': string; 'ship-concurrency'?: string | undefined; 'keep-remote': boolean; 'accept-new-host-keys': boolean; 'ssh-config'?: string | undefined;
  'min-hosts'?: string | undefined; 'gather-timeout'?: string | undefined; retries?: string | undefined;
};

/** `--gather-timeout`: a bare number is seconds here (a wait for hosts, not a test duration). */
export function parseGatherTimeout(text: string): number {
  return parseDuration(/^\d+$/.test(text.trim()) ? `${text.trim()}s` : text, '--gather-timeout') * 1000;
}

function wholeNumber(flag: string, text: string): number {
  if (!/^\d+$/.test(text)) throw usageError(`${flag} "${text}" must be a whole number, 0 or more`);
  return Number(text);
}

/** The hosts word: names separated by spaces, as kvm-remote.sh takes them. */
export function parseHostList(text: string): string[] {
  const hosts = text.split(/[\s,]+/).filter((h) => h !== '');
  if (hosts.length === 0) throw usageError(`no hosts in "${text}": give e.g. "h1 h2" or "localhost"`);
  return hosts;
}

function remoteFields(flags: RemoteFlags): Omit<RemoteOptions, 'hosts' | 'source' | 'accel'> {
  return {
    remoteDir: flags['remote-dir'],
    ...(flags['ship-concurrency'] === undefined ? {} : { shipConcurrency: positiveInteger('--ship-concurrency', flags['ship-concurrency']) }),
    keepRemote: flags['keep-remote'],
    acceptNewHostKeys: flags['accept-new-host-keys'],
    ...(flags['ssh-config'] === undefined ? {} : { sshConfigFile: flags['ssh-config'] }),
    ...(flags['min-hosts'] === undefined ? {} : { minHosts: positiveInteger('--min-hosts', flags['min-hosts']) }),
    ...(flags['gather-timeout'] === undefined ? {} : { gatherTimeoutMs: parseGatherTimeout(flags['gather-timeout']) }),
    ...(flags.retries === undefined ? {} : { retries: wholeNumber('--retries', flags.retries) }),
  };
}

/**
 * Parses kvm-remote's command line without starting anything. As in kvm-remote.sh,
 * a second word that is not an option names an earlier run to rerun.
 */
export async function parseKvmRemoteArgs(argv: string[], cwd = process.cwd()): Promise<Omit<RemoteOptions, 'log' | 'signal'>> {
  const [hostWord, second] = argv;
  if (hostWord === undefined || hostWord.startsWith('-')) throw usageError(`usage: ${USAGE.split('\n')[0]}`);
  const hosts = parseHostList(hostWord);
  if (second !== undefined && !second.startsWith('-')) {
    const flags = await defineRemoteFlags(defineAgainFlags(argv.slice(2), 'kvm-remote', USAGE)).parseAsync();
    if (flags._.length > 0) throw usageError(`unexpected word "${flags._[0]}" after the run directory`);
    if (flags.dryrun) throw usageError('--dryrun: kvm-remote always boots; prepare a directory with kvm-again --dryrun instead');
    const { dryrun: _, ...again } = againOptionsFromFlags(flags, second);
    return { hosts, source: { kind: 'again', options: again }, accel: flags.accel as AccelRequest, ...remoteFields(flags) };
  }
  const flags = await defineRemoteFlags(defineRunFlags(strictParser(argv.slice(1), 'kvm-remote', USAGE))).parseAsync();
  if (flags._.length > 0) throw usageError(`unexpected word "${flags._[0]}": options only after the host list (or give RUNDIR right after it)`);
  if (flags.buildonly) throw usageError('--buildonly: kvm-remote builds and then runs on the hosts; use kvm-run --buildonly to only build');
  const { buildonly: _, log: __, ...run } = runOptionsFromFlags(flags, cwd);
  return { hosts, source: { kind: 'build', options: run }, accel: run.accel, ...remoteFields(flags) };
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
  const ci = env.CI !== undefined && env.CI !== '' && env.CI !== 'false' && env.CI !== '0';
  return io === stdio && process.stdout.isTTY === true && !ci;
}

/** kvm-remote: build here (or take an earlier run's kernels), run the batches on ssh hosts, judge here. */
export async function main(argv: string[], io: Io = stdio): Promise<number> {
  try {
    if (wantsHelp(argv)) {
      io.out(await defineRemoteFlags(defineRunFlags(strictParser([], 'kvm-remote', USAGE))).getHelp());
      io.out('\nWith RUNDIR, kvm-again\'s options apply instead of kvm-run\'s (see kvm-again --help).');
      return EXIT.ok;
    }
    const options = await parseKvmRemoteArgs(argv);
    const display = progressOutput(io, isLive(io));
    return await runAndReport(io, async (signal) => {
      try {
        return await remoteRun({ ...options, log: display.out, onProgress: display.progress, signal });
      } finally {
        display.done();
      }
    }, (summary) => printHosts(summary, io.out));
  } catch (error) {
    return reportError('kvm-remote', error, io.err);
  }
}
