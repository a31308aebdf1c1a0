/**
 * A real Slurm cluster on this machine, from Debian's packages: its own munged (own
 * key and socket), slurmctld on the host side (in a UTS namespace named `ctl`), and
 * one slurmd per compute node, each in its own network namespace on a bridge, with
 * its own hostname, address, private /tmp and CPU count. Clients reach it through
 * the slurm.conf it writes (SLURM_CONF). Every command is a fixed word list; the one
 * `sh -c` wrapper per daemon runs a constant script with its values as $1..$n.
 * Needs root, munge, slurmctld, slurmd, slurm-client, iproute2 and util-linux.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chownSync, createWriteStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { execa } from 'execa';
import { BRIDGE_PREFIX, NS_PREFIX, ROOT, VETH_PREFIX, ip, removeCluster } from './cluster-cleanup.js';

export { cleanupStaleClusters } from './cluster-cleanup.js';

export interface NodeSpec {
  name: string;
  /** CPUs slurm.conf gives the node (may exceed this machine's: SlurmdParameters=config_overrides). */
  cpus: number;
}

export interface ClusterNode extends NodeSpec {
  namespace: string;
  address: string;
  /** Our side of its veth: setting it down cuts the node off. */
  veth: string;
  slurmd: ChildProcess;
}

export interface Cluster {
  id: string;
  dir: string;
  /** slurm.conf: set SLURM_CONF to it for every client command. */
  conf: string;
  /** The environment client commands need (SLURM_CONF), merged over process.env. */
  env: NodeJS.ProcessEnv;
  nodes: ClusterNode[];
  node(name: string): ClusterNode;
  /** Runs a Slurm client command (scontrol, squeue, ...) against this cluster. */
  client(words: string[]): Promise<string>;
  /** Fixed words inside a node's namespaces (its network, hostname and /tmp). */
  inside(name: string, words: string[]): Promise<string>;
  cutNetwork(name: string): Promise<void>;
  restoreNetwork(name: string): Promise<void>;
  destroy(): Promise<void>;
}

const READY_MS = 30_000;
const MUNGE = 'exec "$@"';
const CTLD = 'hostname ctl && exec /usr/sbin/slurmctld -D -f "$1"';
// The node's own /tmp (as a real node's local disk) and hostname; slurmd's steps inherit both.
const SLURMD = 'mount -t tmpfs -o mode=1777 tmpfs /tmp && hostname "$1" && exec /usr/sbin/slurmd -D -N "$1" -f "$2"';

export async function createCluster(specs: NodeSpec[]): Promise<Cluster> {
  const id = randomBytes(3).toString('hex').slice(0, 4);
  const dir = join(ROOT, `${NS_PREFIX}${id}`);
  mkdirSync(dir, { mode: 0o755 });
  writeFileSync(join(dir, 'owner.pid'), String(process.pid));
  const children: ChildProcess[] = [];
  const nodes: ClusterNode[] = [];
  const conf = join(dir, 'slurm.conf');
  const env = { ...process.env, SLURM_CONF: conf };
  const cluster: Cluster = {
    id, dir, conf, env, nodes,
    node: (name) => nodes.find((n) => n.name === name) ?? fail(`no node ${name}`),
    client: async (words) => (await execa(words[0]!, words.slice(1), { env, cwd: '/', timeout: 30_000 })).stdout,
    inside: async (name, words) => (await execa('nsenter', ['-t', String(cluster.node(name).slurmd.pid), '-n', '-m', '-u', '--', ...words], { timeout: 10_000 })).stdout,
    cutNetwork: async (name) => void (await ip('link', 'set', cluster.node(name).veth, 'down')),
    restoreNetwork: async (name) => void (await ip('link', 'set', cluster.node(name).veth, 'up')),
    destroy: () => removeCluster(id, children),
  };
  try {
    const octet = await freeOctet();
    const base = 20_000 + Math.floor(Math.random() * 20_000);
    const ctlAddress = `10.202.${octet}.1`;
    const bridge = `${BRIDGE_PREFIX}${id}`;
    await ip('link', 'add', bridge, 'type', 'bridge');
    await ip('addr', 'add', `${ctlAddress}/24`, 'dev', bridge);
    await ip('link', 'set', bridge, 'up');
    const mungeSocket = await startMunge(dir, children);
    for (const [i, spec] of specs.entries()) {
      const namespace = `${NS_PREFIX}${id}-${i}`;
      const veth = `${VETH_PREFIX}${id}h${i}`;
      const peer = `${VETH_PREFIX}${id}g${i}`;
      const address = `10.202.${octet}.${10 + i}`;
      await ip('netns', 'add', namespace);
      await ip('link', 'add', veth, 'type', 'veth', 'peer', 'name', peer);
      await ip('link', 'set', peer, 'netns', namespace);
      await ip('link', 'set', veth, 'master', bridge);
      await ip('link', 'set', veth, 'up');
      await ip('-n', namespace, 'addr', 'add', `${address}/24`, 'dev', peer);
      await ip('-n', namespace, 'link', 'set', peer, 'up');
      await ip('-n', namespace, 'link', 'set', 'lo', 'up');
      nodes.push({ ...spec, namespace, address, veth, slurmd: undefined as unknown as ChildProcess });
    }
    writeFileSync(conf, slurmConf({ id, dir, ctlAddress, mungeSocket, ctlPort: base, nodePort: base + 1, nodes }));
    mkdirSync(join(dir, 'state'));
    const ctld = spawn('unshare', ['--uts', 'sh', '-c', CTLD, 'sh', conf], { stdio: ['ignore', 'ignore', 'pipe'], cwd: '/' });
    children.push(ctld);
    ctld.stderr!.pipe(createWriteStream(join(dir, 'slurmctld.stderr')));
    for (const node of nodes) {
      node.slurmd = spawn('nsenter', [`--net=/run/netns/${node.namespace}`, 'unshare', '--uts', '--mount', '--propagation', 'private', 'sh', '-c', SLURMD, 'sh', node.name, conf],
        { stdio: ['ignore', 'ignore', 'pipe'], cwd: '/' });
      children.push(node.slurmd);
      node.slurmd.stderr!.pipe(createWriteStream(join(dir, `slurmd-${node.name}.stderr`)));
    }
    await waitForIdle(cluster);
    return cluster;
  } catch (error) {
    await cluster.destroy();
    throw error;
  }
}

function fail(message: string): never {
  throw new Error(message);
}

/** Its own munged, key and socket: the machine's munge setup is neither needed nor touched. */
async function startMunge(dir: string, children: ChildProcess[]): Promise<string> {
  const mungeDir = join(dir, 'munge');
  mkdirSync(mungeDir, { mode: 0o755 });
  const { uid, gid } = await mungeIds();
  chownSync(mungeDir, uid, gid);
  const key = join(mungeDir, 'munge.key');
  writeFileSync(key, randomBytes(1024), { mode: 0o400 });
  chownSync(key, uid, gid);
  const socket = join(mungeDir, 'munge.socket');
  const munged = spawn('setpriv', ['--reuid', String(uid), '--regid', String(gid), '--clear-groups', 'sh', '-c', MUNGE, 'sh',
    '/usr/sbin/munged', '-F', '--force', `--socket=${socket}`, `--key-file=${key}`, `--pid-file=${join(mungeDir, 'munged.pid')}`,
    `--seed-file=${join(mungeDir, 'seed')}`, `--log-file=${join(mungeDir, 'munged.log')}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(munged);
  munged.stderr!.pipe(createWriteStream(join(mungeDir, 'munged.stderr')));
  await waitUntil(async () => (await execa('munge', ['-S', socket, '-n'], { reject: false })).exitCode === 0, 10_000, 'munged did not answer');
  return socket;
}

async function mungeIds(): Promise<{ uid: number; gid: number }> {
  const uid = Number((await execa('id', ['-u', 'munge'])).stdout);
  const gid = Number((await execa('id', ['-g', 'munge'])).stdout);
  return { uid, gid };
}

interface ConfInput {
  id: string;
  dir: string;
  ctlAddress: string;
  mungeSocket: string;
  ctlPort: number;
  nodePort: number;
  nodes: ClusterNode[];
}

function slurmConf(c: ConfInput): string {
  return [
    `ClusterName=kvmfarm${c.id}`,
    `SlurmctldHost=ctl(${c.ctlAddress})`,
    `SlurmctldPort=${c.ctlPort}`,
    `SlurmdPort=${c.nodePort}`,
    'SlurmUser=root',
    'SlurmdUser=root',
    `AuthInfo=socket=${c.mungeSocket}`,
    `StateSaveLocation=${join(c.dir, 'state')}`,
    `SlurmctldPidFile=${join(c.dir, 'slurmctld.pid')}`,
    `SlurmctldLogFile=${join(c.dir, 'slurmctld.log')}`,
    `SlurmdSpoolDir=${join(c.dir, 'spool-%n')}`,
    `SlurmdPidFile=${join(c.dir, 'slurmd-%n.pid')}`,
    `SlurmdLogFile=${join(c.dir, 'slurmd-%n.log')}`,
    'ProctrackType=proctrack/linuxproc',
    'TaskPlugin=task/none',
    'JobAcctGatherType=jobacct_gather/none',
    'AccountingStorageType=accounting_storage/none',
    'MpiDefault=none',
    'SelectType=select/cons_tres',
    'SelectTypeParameters=CR_CPU',
    // A node may claim more CPUs than this machine has: the farm's hosts are defined by slurm.conf.
    'SlurmdParameters=config_overrides',
    'ReturnToService=2',
    // A cut node is DOWN after 10 s rather than 300 s (the default).
    'SlurmdTimeout=10',
    'KillWait=5',
    'MinJobAge=2',
    'InactiveLimit=0',
    ...c.nodes.map((n) => `NodeName=${n.name} NodeHostname=${n.name} NodeAddr=${n.address} CPUs=${n.cpus} State=UNKNOWN`),
    `PartitionName=farm Nodes=${c.nodes.map((n) => n.name).join(',')} Default=YES MaxTime=INFINITE State=UP`,
    '',
  ].join('\n');
}

/** Every node registered and idle: the cluster takes jobs. */
async function waitForIdle(cluster: Cluster): Promise<void> {
  await waitUntil(async () => {
    const out = await execa('sinfo', ['-h', '-N', '-o', '%N %t'], { env: cluster.env, cwd: '/', reject: false, timeout: 5_000 });
    if (out.exitCode !== 0) return false;
    const states = new Map(out.stdout.split('\n').map((l) => l.trim().split(/\s+/) as [string, string]));
    return cluster.nodes.every((n) => states.get(n.name) === 'idle');
  }, READY_MS, () => `cluster ${cluster.id} not idle: ${safeRead(join(cluster.dir, 'slurmctld.log')).split('\n').slice(-5).join(' | ')}`);
}

function safeRead(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

async function waitUntil(check: () => Promise<boolean>, limitMs: number, why: string | (() => string)): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(typeof why === 'string' ? why : why());
}

/** A third octet for 10.202.x.0/24 that no address on this machine uses yet. */
async function freeOctet(): Promise<number> {
  const used = await ip('-o', '-4', 'addr', 'show');
  for (let tries = 0; tries < 50; tries++) {
    const octet = 1 + Math.floor(Math.random() * 254);
    if (!used.includes(`10.202.${octet}.`)) return octet;
  }
  throw new Error('no free 10.202.x.0/24 range for the cluster');
}
