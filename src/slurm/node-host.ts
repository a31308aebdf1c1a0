import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { HostError } from '../transport/host-errors.js';
import { interrupted } from '../transport/channel-run.js';
import { getViaCat, putViaCat } from '../transport/transfer.js';
import { type CmdResult, DEFAULT_RUN_TIMEOUT_MS, type ExitStatus, type Host, type RunOptions, type SpawnHandle, type SpawnOptions, type TransferOptions } from '../transport/types.js';
import { nodeUnusable } from './job-info.js';
import { classifyLine, stepWords } from './step-words.js';
import { KvmFarmError } from '../util/errors.js';

export interface SlurmNodeOptions {
  jobId: string;
  node: string;
  /** CPUs the allocation holds on this node: a step never asks for more. */
  cpus: number;
  /** Environment for srun and scancel (SLURM_CONF on a test cluster). */
  env?: NodeJS.ProcessEnv;
}

/** After a kill, how long srun may take to end before it is killed itself. */
const SRUN_KILL_GRACE_MS = 5_000;

export interface SlurmNodeEvents {
  /** A step failed for a node reason: the node is lost to the run until it is reconnected. */
  lost: [error: HostError];
  close: [];
}

/**
 * One node of a Slurm allocation as a Host: every command is a job step
 * (`srun --overlap -w NODE -n1`), its stdin, stdout and stderr are srun's, and a
 * transfer is `cat` in a step. A step whose program did not report its own end was
 * ended by the cluster (node failure, cancelled step): that is a lost node, told once
 * through `lost`, and never an exit status, whatever srun's own status says.
 */
export class SlurmNodeHost extends EventEmitter<SlurmNodeEvents> implements Host {
  readonly name: string;
  private failure: HostError | null = null;
  private closed = false;
  /** Running srun processes and the step each belongs to, once known. */
  private readonly live = new Map<ChildProcess, () => string | undefined>();

  constructor(private readonly o: SlurmNodeOptions) {
    super();
    this.name = o.node;
  }

  /** Why the node is unusable, or null while it serves. */
  get lostError(): HostError | null {
    return this.failure;
  }

  /** Marks the node lost (from a step, or from the allocation's watcher). */
  markLost(why: string): void {
    if (this.failure || this.closed) return;
    this.failure = new HostError('lost', this.name, `${this.name}: ${why}`);
    // Its steps are written off: they are killed (if the node still hears) rather than left to finish unjudged.
    for (const [child, step] of this.live) {
      const id = step();
      if (id) this.scancel(id, 'KILL');
      child.kill('SIGKILL');
    }
    this.emit('lost', this.failure);
  }

  async spawn(words: string[], options: SpawnOptions = {}): Promise<SpawnHandle> {
    if (this.failure) throw this.failure;
    if (words.length === 0 || words[0] === '') throw new KvmFarmError('KVMFARM_BAD_ARGUMENT', 'a command needs at least one word (the program to run)');
    const nonce = randomBytes(8).toString('hex');
    const cpus = Math.max(1, Math.min(this.o.cpus, options.cpus ?? 1));
    const [file, ...args] = stepWords({ jobId: this.o.jobId, node: this.name, cpus }, nonce, words);
    const child = spawn(file!, args, { env: this.o.env ?? process.env, cwd: '/', stdio: ['pipe', 'pipe', 'pipe'] });
    this.live.set(child, () => stepId);
    const stderr = new PassThrough();
    const srunLines: string[] = [];
    let stepId: string | undefined;
    let endStatus: number | undefined;
    let nodeFault: string | undefined;
    let killedWith: string | null = null;
    let partial = '';
    const onLine = (line: string): void => {
      const kind = classifyLine(line, nonce);
      if (kind.before !== undefined) stderr.write(kind.before);
      if (kind.kind === 'step') stepId = kind.stepId;
      else if (kind.kind === 'end') endStatus = kind.status;
      else if (kind.kind === 'srun') {
        srunLines.push(kind.text);
        if (kind.nodeFault) nodeFault ??= kind.text;
      } else stderr.write(`${kind.text}\n`);
    };
    child.stderr.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop()!;
      for (const line of lines) onLine(line);
    });
    child.stderr.on('end', () => {
      if (partial) onLine(partial);
      stderr.end();
    });
    const kill = (signal = 'SIGTERM'): void => {
      if (endStatus !== undefined || child.exitCode !== null || child.signalCode !== null) return;
      killedWith ??= signal;
      // srun passes TERM and INT on to the step; KILL goes to the step through the controller, srun itself follows.
      if (signal === 'SIGKILL' && stepId) this.scancel(stepId, 'KILL');
      else child.kill(signal as NodeJS.Signals);
      setTimeout(() => child.kill('SIGKILL'), SRUN_KILL_GRACE_MS).unref();
    };
    const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => kill('SIGKILL'), options.timeoutMs);
    const onAbort = (): void => kill('SIGKILL');
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const exited = new Promise<ExitStatus>((resolve, reject) => {
      child.once('error', (error) => {
        // srun missing or not executable: the coordinator's fault, not the node's.
        reject(new KvmFarmError('KVMFARM_BAD_ARGUMENT', `srun could not be started: ${error.message}; install slurm-client`));
      });
      child.once('close', (code, signal) => {
        this.live.delete(child);
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        if (endStatus !== undefined) return resolve({ exitCode: endStatus, signal: null });
        if (killedWith && !nodeFault) return resolve({ exitCode: null, signal: killedWith });
        const why = nodeFault
          ?? `step ended without its program's end (srun ${code === null ? `killed by ${signal}` : `exit ${code}`}${srunLines.length ? `: ${srunLines.at(-1)}` : ''})`;
        const fail = (nodeDown: boolean): void => {
          if (nodeDown) this.markLost(why);
          // Either way the program's result is unknown: an infrastructure fault, never an exit status.
          reject(nodeDown && this.failure ? this.failure : new HostError('lost', this.name, `${this.name}: ${why}`));
        };
        // srun's own word for a node failure is enough; a silent end is put to Slurm first: a
        // short step on a healthy node can end this way (seen on a console's tar right after
        // its guest), and that must not cost the node and rerun its finished guests.
        if (nodeFault) fail(true);
        else void this.nodeDown().then(fail);
      });
    });
    exited.catch(() => {});
    return { command: words, stdin: child.stdin, stdout: child.stdout, stderr, exited, kill };
  }

  async run(words: string[], options: RunOptions = { timeoutMs: DEFAULT_RUN_TIMEOUT_MS }): Promise<CmdResult> {
    if (options.signal?.aborted) throw interrupted(words, this.name);
    const started = performance.now();
    const handle = await this.spawn(words, { timeoutMs: options.timeoutMs });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    handle.stdout.on('data', (c: Buffer) => out.push(c));
    handle.stderr.on('data', (c: Buffer) => err.push(c));
    const stdin = options.stdin;
    if (stdin === undefined) handle.stdin.end();
    else if (typeof stdin === 'string' || Buffer.isBuffer(stdin)) handle.stdin.end(stdin);
    else {
      stdin.on('error', () => handle.kill('SIGKILL'));
      stdin.pipe(handle.stdin);
    }
    handle.stdin.on('error', () => {});
    let aborted = false;
    const onAbort = (): void => {
      aborted = true;
      handle.kill('SIGKILL');
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const status = await handle.exited;
      if (aborted) throw interrupted(words, this.name);
      const durationMs = performance.now() - started;
      return {
        command: words, exitCode: status.exitCode, signal: status.signal,
        stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'),
        durationMs, timedOut: status.signal !== null && durationMs >= options.timeoutMs,
      };
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
    }
  }

  putStream(remotePath: string, source: Readable | Buffer, options: TransferOptions): Promise<CmdResult> {
    return putViaCat(this, remotePath, source, options);
  }

  getStream(remotePath: string, destination: Writable, options: TransferOptions): Promise<CmdResult> {
    return getViaCat(this, remotePath, destination, options);
  }

  /** Nothing to hang up: steps end with their programs, and the allocation's release ends the rest. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.failure ??= new HostError('closed', this.name, `${this.name}: closed by kvm-farm`);
    this.emit('close');
  }

  /** True unless Slurm says the node is up (its state, asked once, bounded). */
  private nodeDown(): Promise<boolean> {
    return new Promise((resolve) => {
      const child = spawn('sinfo', ['-h', '-N', '-n', this.name, '-o', '%T'], { env: this.o.env ?? process.env, cwd: '/', stdio: ['ignore', 'pipe', 'ignore'] });
      let out = '';
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.on('error', () => resolve(true));
      child.on('close', (code) => {
        clearTimeout(timer);
        const state = out.trim().toUpperCase();
        resolve(code !== 0 || state === '' || nodeUnusable(state));
      });
    });
  }

  private scancel(stepId: string, signal: string): void {
    const child = spawn('scancel', ['--quiet', `--signal=${signal}`, stepId], { env: this.o.env ?? process.env, cwd: '/', stdio: 'ignore' });
    child.on('error', () => {});
  }
}
