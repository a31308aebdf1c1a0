/**
 * A test farm of real sshd hosts on this machine, one per network namespace: own
 * address on a veth pair, own /tmp (tmpfs in a private mount namespace), own
 * hostname (UTS namespace), own CPU count (sshd pinned with taskset), own host key.
 * Tests reach the hosts only through the OpenSSH client config the farm writes.
 * Reusable by later tests, the demo and benchmarks. Needs root, ip, unshare,
 * taskset, ssh-keygen and /usr/sbin/sshd. Every command here is a fixed word list;
 * the one `sh -c` wrapper runs a constant script with its values as $1..$3.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createWriteStream, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { execa, execaSync } from 'execa';
import { quoteWord } from '../../src/transport/quote.js';
import { DEFAULT_ROOT, PREFIX, VETH_PREFIX, ip, removeRun } from './farm-cleanup.js';

export { cleanupStaleFarms } from './farm-cleanup.js';

export interface FarmHostSpec {
  /** Host alias in the client config, and the hostname inside the host. */
  name: string;
  /** CPUs the host's sessions may use (nproc there); at most this machine's count. */
  cpus: number;
  /** Extra sshd_config lines, e.g. `SetEnv PATH=...` to put a wrapper first on the host's PATH. */
  sshdConfig?: string[];
  /**
   * A login shell as real hosts have them: root's .bashrc, in this host's mount namespace
   * only (bind-mounted over the file, never the home directory), prints these lines and
   * sleeps before every command; with `exitCode` it then exits, so no command ever runs.
   */
  loginShell?: { stdout: string[]; stderr: string[]; sleepSeconds: number; exitCode?: number };
  /** Which CPUs (taskset list, `1` or `2-3`); default the first `cpus` of the machine. Hosts with their own CPUs do not share. */
  cpuList?: string;
  /** Size of the host's own /tmp (tmpfs `size=`, e.g. `1g`): a small one leaves no room for a kernel build there. Default half the memory. */
  tmpSize?: string;
}

export interface FarmOptions {
  hosts: FarmHostSpec[];
  /** ServerAliveInterval written to the client config, seconds (default 1). */
  keepaliveIntervalS?: number;
  /** ServerAliveCountMax written to the client config (default 3). */
  keepaliveCountMax?: number;
  /** ConnectTimeout written to the client config, seconds (default 5). */
  connectTimeoutS?: number;
  /** Where the farm directory goes; not /tmp, which the hosts hide behind their own. */
  root?: string;
}

export interface FarmHost {
  name: string;
  index: number;
  cpus: number;
  namespace: string;
  /** Our side of the veth pair: cutting it cuts the host off. */
  vethHost: string;
  /** The host's address, where its sshd listens; `hostAddress` is ours on the same /30. */
  address: string;
  hostAddress: string;
  port: number;
  /** The host key's public line (`ssh-ed25519 AAAA...`). */
  hostKey: string;
  logFile: string;
  sshd: ChildProcess;
  /** What sshd was started with, so reboot() starts it the same way. */
  cpuList: string;
  bashrc: string;
  tmpSize: string;
}

export interface Farm {
  runId: string;
  dir: string;
  /** The OpenSSH client config naming every host: the only way tests reach them. */
  configFile: string;
  knownHostsFile: string;
  clientKey: string;
  hosts: FarmHost[];
  host(name: string): FarmHost;
  /** Runs fixed words inside a host's namespaces directly (nsenter), without ssh. */
  inside(name: string, words: string[]): Promise<string>;
  /** Established TCP connections to the host's sshd, counted with ss inside its namespace. */
  countConnections(name: string): Promise<number>;
  /** Logins sshd logged ("Accepted publickey"). */
  countLogins(name: string): number;
  cutNetwork(name: string): Promise<void>;
  /**
   * A reboot as far as a namespace host can have one: every process in its mount
   * namespace is killed (sshd, sessions, guests), and sshd starts again in a fresh one
   * with a new /tmp and a new boot_id bind-mounted over /proc/sys/kernel/random/boot_id.
   * Resolves with the new boot_id once sshd listens.
   */
  reboot(name: string): Promise<string>;
  restoreNetwork(name: string): Promise<void>;
  destroy(): Promise<void>;
}

const SSHD_READY_MS = 10_000;
/**
 * $4, when not empty, is bind-mounted over root's .bashrc (a noisy login shell);
 * $5, when not empty, over boot_id: a host "rebooted" by reboot() gets its own.
 */
const WRAPPER = 'mount -t tmpfs -o "mode=1777${6:+,size=$6}" tmpfs /tmp && hostname "$1" && { [ -z "$4" ] || mount --bind "$4" /root/.bashrc; } && { [ -z "$5" ] || mount --bind "$5" /proc/sys/kernel/random/boot_id; } && exec taskset -c "$2" /usr/sbin/sshd -D -e -f "$3"';

export async function createFarm(options: FarmOptions): Promise<Farm> {
  const root = options.root ?? DEFAULT_ROOT;
  const runId = Math.random().toString(36).slice(2, 6).padEnd(4, '0');
  const dir = join(root, `${PREFIX}${runId}`);
  mkdirSync(dir, { mode: 0o700 });
  writeFileSync(join(dir, 'owner.pid'), String(process.pid));
  const hosts: FarmHost[] = [];
  const farm = makeFarm(runId, dir, hosts);
  try {
    const octet = await freeOctet();
    writeFileSync(join(dir, 'octet'), String(octet));
    mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
    const clientKey = join(dir, 'client_key');
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `kvmfarm-${runId}-client`, '-f', clientKey]);
    writeFileSync(join(dir, 'authorized_keys'), readFileSync(`${clientKey}.pub`), { mode: 0o600 });
    for (const [index, spec] of options.hosts.entries()) {
      if (spec.cpus < 1 || spec.cpus > availableParallelism()) {
        throw new Error(`farm host ${spec.name}: cpus ${spec.cpus} must be 1..${availableParallelism()}`);
      }
      hosts.push(await startHost(runId, dir, octet, index, spec));
    }
    writeClientFiles(farm, options);
    return farm;
  } catch (error) {
    await farm.destroy();
    throw error;
  }
}

/** A third octet for 10.213.x.0/24 that no address on this machine uses yet. */
async function freeOctet(): Promise<number> {
  const used = await ip('-o', '-4', 'addr', 'show');
  for (let tries = 0; tries < 50; tries++) {
    const octet = 1 + Math.floor(Math.random() * 254);
    if (!used.includes(`10.213.${octet}.`)) return octet;
  }
  throw new Error('no free 10.213.x.0/24 range for the farm');
}

async function startHost(runId: string, dir: string, octet: number, index: number, spec: FarmHostSpec): Promise<FarmHost> {
  const namespace = `${PREFIX}${runId}-${index}`;
  const vethHost = `${VETH_PREFIX}${runId}h${index}`;
  const vethGuest = `${VETH_PREFIX}${runId}g${index}`;
  const hostAddress = `10.213.${octet}.${index * 4 + 1}`;
  const address = `10.213.${octet}.${index * 4 + 2}`;
  const port = index === 0 ? 22 : 2200 + index;
  const hostDir = join(dir, spec.name);
  mkdirSync(hostDir);
  await ip('netns', 'add', namespace);
  await ip('link', 'add', vethHost, 'type', 'veth', 'peer', 'name', vethGuest);
  await ip('link', 'set', vethGuest, 'netns', namespace);
  await ip('addr', 'add', `${hostAddress}/30`, 'dev', vethHost);
  await ip('link', 'set', vethHost, 'up');
  await ip('-n', namespace, 'addr', 'add', `${address}/30`, 'dev', vethGuest);
  await ip('-n', namespace, 'link', 'set', vethGuest, 'up');
  await ip('-n', namespace, 'link', 'set', 'lo', 'up');
  const keyFile = join(hostDir, 'ssh_host_ed25519_key');
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `kvmfarm-${spec.name}`, '-f', keyFile]);
  const configFile = join(hostDir, 'sshd_config');
  writeFileSync(configFile, [
    `ListenAddress ${address}:${port}`,
    `HostKey ${keyFile}`,
    `PidFile ${join(hostDir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    'PermitRootLogin prohibit-password',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    // The farm directory sits under world-writable /var/tmp, which StrictModes rejects.
    'StrictModes no',
    process.env.KVMFARM_SSHD_DEBUG ? 'LogLevel DEBUG1' : 'LogLevel VERBOSE',
    'MaxSessions 20',
    'MaxStartups 50',
    'PrintMotd no',
    'PrintLastLog no',
    'Subsystem sftp /usr/lib/openssh/sftp-server',
    ...(spec.sshdConfig ?? []),
    // The shell sshd starts runs this machine's root .bashrc, whose `pyenv rehash` would
    // wait 60 s on a lock that a killed session left behind; every command would stall.
    'SetEnv PYENV_REHASH_TIMEOUT=0',
    '',
  ].join('\n'));
  const logFile = join(hostDir, 'sshd.log');
  const bashrc = spec.loginShell ? writeNoisyBashrc(hostDir, spec.loginShell) : writeQuietBashrc(hostDir);
  const cpuList = spec.cpuList ?? (spec.cpus === 1 ? '0' : `0-${spec.cpus - 1}`);
  const tmpSize = spec.tmpSize ?? '';
  if (!/^[0-9]*[kmg]?$/.test(tmpSize)) throw new Error(`tmpSize ${tmpSize}: a size such as 512m or 1g`);
  const sshd = await startSshd(namespace, spec.name, { cpuList, configFile, logFile, bashrc, bootIdFile: '', tmpSize });
  const hostKey = readFileSync(`${keyFile}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
  return { name: spec.name, index, cpus: spec.cpus, namespace, vethHost, address, hostAddress, port, hostKey, logFile, sshd, cpuList, bashrc, tmpSize };
}

/**
 * A host's own root .bashrc when no login shell is staged: empty. This machine's
 * (pyenv and cargo set-up) takes 3 to 4 s a shell under load, every ssh command
 * would pay it, and a host of the farm is a machine of its own, not this one.
 */
function writeQuietBashrc(hostDir: string): string {
  const file = join(hostDir, 'bashrc');
  writeFileSync(file, '# kvm-farm test farm: a host whose login shell prints nothing and starts at once\n');
  return file;
}

/** The host's own root .bashrc: fixed printf lines (values quoted), a sleep, maybe an exit. */
function writeNoisyBashrc(hostDir: string, shell: NonNullable<FarmHostSpec['loginShell']>): string {
  const file = join(hostDir, 'bashrc');
  writeFileSync(file, [
    '# kvm-farm test farm: a noisy, slow login shell',
    ...shell.stdout.map((line) => `printf '%s\\n' ${quoteWord(line)}`),
    ...shell.stderr.map((line) => `printf '%s\\n' ${quoteWord(line)} >&2`),
    `sleep ${shell.sleepSeconds}`,
    ...(shell.exitCode === undefined ? [] : [`exit ${shell.exitCode}`]),
    '',
  ].join('\n'));
  return file;
}

interface SshdFiles { cpuList: string; configFile: string; logFile: string; bashrc: string; bootIdFile: string; tmpSize: string }

/** sshd in the host's network namespace, with its own mount and UTS namespaces (own /tmp, hostname, maybe .bashrc and boot_id). */
async function startSshd(namespace: string, name: string, files: SshdFiles): Promise<ChildProcess> {
  const sshd = spawn('ip', ['netns', 'exec', namespace, 'unshare', '--mount', '--uts', '--propagation', 'private',
    'sh', '-c', WRAPPER, 'sh', name, files.cpuList, files.configFile, files.bashrc, files.bootIdFile, files.tmpSize], { stdio: ['ignore', 'ignore', 'pipe'] });
  await waitForListening(sshd, files.logFile, name);
  return sshd;
}

/** Resolves when sshd logs that it listens: an event, not a poll. */
function waitForListening(sshd: ChildProcess, logFile: string, name: string): Promise<void> {
  const log = createWriteStream(logFile, { flags: 'a' });
  sshd.stderr!.pipe(log);
  let seen = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`farm host ${name}: sshd not listening after ${SSHD_READY_MS} ms: ${seen}`)), SSHD_READY_MS);
    const onData = (chunk: Buffer): void => {
      seen += chunk.toString();
      if (seen.includes('Server listening on')) done();
    };
    const onExit = (code: number | null): void => done(new Error(`farm host ${name}: sshd exited (${code}) before listening: ${seen}`));
    const done = (error?: Error): void => {
      clearTimeout(timer);
      sshd.stderr!.off('data', onData);
      sshd.off('exit', onExit);
      if (error) reject(error);
      else resolve();
    };
    sshd.stderr!.on('data', onData);
    sshd.once('exit', onExit);
  });
}

function writeClientFiles(farm: Farm, options: FarmOptions): void {
  const plain = farm.hosts.map((h) => `${h.port === 22 ? h.address : `[${h.address}]:${h.port}`} ${h.hostKey}\n`);
  // Even hosts get entries hashed by OpenSSH's own ssh-keygen -H, odd ones plain: both forms are exercised.
  const toHash = join(farm.dir, 'known_hosts.to-hash');
  writeFileSync(toHash, plain.filter((_, i) => i % 2 === 0).join(''));
  const hashed = hashWithSshKeygen(toHash);
  writeFileSync(farm.knownHostsFile, hashed + plain.filter((_, i) => i % 2 === 1).join(''), { mode: 0o600 });
  const lines: string[] = [];
  for (const h of farm.hosts) {
    lines.push(
      `Host ${h.name}`,
      `  HostName ${h.address}`,
      `  Port ${h.port}`,
      '  User root',
      `  IdentityFile ${farm.clientKey}`,
      '  IdentitiesOnly yes',
      `  UserKnownHostsFile ${farm.knownHostsFile}`,
      '  GlobalKnownHostsFile none',
      '  StrictHostKeyChecking yes',
      `  ConnectTimeout ${options.connectTimeoutS ?? 5}`,
      `  ServerAliveInterval ${options.keepaliveIntervalS ?? 1}`,
      `  ServerAliveCountMax ${options.keepaliveCountMax ?? 3}`,
      '',
    );
  }
  writeFileSync(farm.configFile, lines.join('\n'));
}

function hashWithSshKeygen(file: string): string {
  execaSync('ssh-keygen', ['-q', '-H', '-f', file]);
  const text = readFileSync(file, 'utf8');
  rmSync(`${file}.old`, { force: true });
  return text;
}

function makeFarm(runId: string, dir: string, hosts: FarmHost[]): Farm {
  let destroyed = false;
  const find = (name: string): FarmHost => {
    const host = hosts.find((h) => h.name === name);
    if (!host) throw new Error(`no farm host ${name}`);
    return host;
  };
  return {
    runId,
    dir,
    configFile: join(dir, 'ssh_config'),
    knownHostsFile: join(dir, 'known_hosts'),
    clientKey: join(dir, 'client_key'),
    hosts,
    host: find,
    async inside(name, words) {
      const pid = String(find(name).sshd.pid);
      return (await execa('nsenter', ['-t', pid, '-m', '-u', '-n', '--', ...words], { timeout: 10_000 })).stdout;
    },
    async countConnections(name) {
      const h = find(name);
      const out = await ip('netns', 'exec', h.namespace, 'ss', '-Htn', 'state', 'established', 'sport', '=', `:${h.port}`);
      return out.split('\n').filter((line) => line.trim() !== '').length;
    },
    countLogins(name) {
      return readFileSync(find(name).logFile, 'utf8').split('\n').filter((l) => l.includes('Accepted publickey')).length;
    },
    async cutNetwork(name) {
      await ip('link', 'set', find(name).vethHost, 'down');
    },
    async reboot(name) {
      const h = find(name);
      const mnt = readlinkSync(`/proc/${h.sshd.pid}/ns/mnt`);
      for (const entry of readdirSync('/proc')) {
        if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
        try {
          if (readlinkSync(`/proc/${entry}/ns/mnt`) === mnt) process.kill(Number(entry), 'SIGKILL');
        } catch {
          // Gone already, or not ours to read.
        }
      }
      await new Promise<void>((resolve) => (h.sshd.exitCode !== null || h.sshd.signalCode !== null ? resolve() : h.sshd.once('exit', () => resolve())));
      const hostDir = join(dir, name);
      const bootId = randomUUID();
      const bootIdFile = join(hostDir, 'boot_id');
      writeFileSync(bootIdFile, `${bootId}\n`);
      h.sshd = await startSshd(h.namespace, name, { cpuList: h.cpuList, configFile: join(hostDir, 'sshd_config'), logFile: h.logFile, bashrc: h.bashrc, bootIdFile, tmpSize: h.tmpSize });
      return bootId;
    },
    async restoreNetwork(name) {
      await ip('link', 'set', find(name).vethHost, 'up');
    },
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      await removeRun(runId, hosts.map((h) => h.sshd), dir);
    },
  };
}
