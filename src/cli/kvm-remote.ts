import { createLogUpdate } from 'log-update';
import type { Argv } from 'yargs';
import { formatProgress, remoteRun, type RemoteOptions, type RemoteProgress, type RemoteSummary } from '../remote/index.js';
import { DEFAULT_REMOTE_DIR } from '../remote/remote-paths.js';
import type { AccelRequest } from '../run/options.js';
import { EXIT, reportError, usageError } from './errors.js';
import { againOptionsFromFlags, defineAgainFlags } from './kvm-again.js';
import type { Io } from './kvm-run.js';
import { printSummary } from './print-summary.js';
import { defineRunFlags, positiveInteger, runOptionsFromFlags, strictParser, wantsHelp } from './run-args.js';
import { installSignalHandlers } from './signals.js';

const stdio: Io = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

const USAGE = 'kvm-remote "HOST1 HOST2 ..." [kvm-run options]\nkvm-remote "HOST1 HOST2 ..." RUNDIR [kvm-again options]';

/** The flags kvm-remote adds to kvm-run's and kvm-again's. */
function defineRemoteFlags<T>(parser: Argv<T>) {
  return parser
    .option('remote-dir', { type: 'string', default: DEFAULT_REMOTE_DIR, describe: 'Work directory on each host: kernels/ (kept) and runs/<run>/' })
    .option('ship-concurrency', { type: 'string', describe: 'Hosts receiving kernels at once; 1 ships one after another (default: all)' })
    .option('keep-remote', { type: 'boolean', default: false, describe: 'Leave each host\'s runs/<run>/ in place' })
    .option('accept-new-host-keys', { type: 'boolean', default: false, describe: 'Record unknown host keys instead of refusing them (changed keys are always refused)' })
    .option('ssh-config', { type: 'string', alias: 'F', describe: 'Read only this ssh client config (as ssh -F)' });
}

type RemoteFlags = { 'remote-dir': string; 'ship-concurrency'?: string | undefined; 'keep-remote': boolean; 'accept-new-host-keys': boolean; 'ssh-config'?: string | undefined };

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
      out(`host ${h.name}: FAILED: ${h.failure}`);
      continue;
    }
    const shipped = h.shipMs === undefined ? 'nothing shipped' : `${h.blobBytesShipped} kernel bytes shipped in ${(h.shipMs / 1000).toFixed(2)} s`;
    out(`host ${h.name}: ${h.cpus} CPUs, ${h.accel}, ${h.batches.length} batch(es), ${shipped}`);
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
    const controller = new AbortController();
    const restore = installSignalHandlers(controller, io.err);
    const display = progressOutput(io, isLive(io));
    try {
      const summary = await remoteRun({ ...options, log: display.out, onProgress: display.progress, signal: controller.signal });
      display.done();
      printSummary(summary, io.out);
      printHosts(summary, io.out);
      return summary.exitCode;
    } finally {
      restore();
    }
  } catch (error) {
    return reportError('kvm-remote', error, io.err);
  }
}
