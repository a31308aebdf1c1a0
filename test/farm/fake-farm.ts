import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import type { Verdict } from '../../src/analyze/types.js';
import type { Clock } from '../../src/farm/clock.js';
import { HostError, type CmdResult, type ExitStatus, type Host, type SpawnHandle } from '../../src/transport/index.js';
import { PROBE_EXIT_STATUS, PROBE_OK } from '../../src/qemu/probe-payload.js';
import type { GuestRun } from '../../src/qemu/types.js';
import type { InstanceResult } from '../../src/report/types.js';
import type { FleetSteps } from '../../src/farm/fleet.js';
import { probeHost } from '../../src/farm/probe-host.js';
import { RemoteLog } from '../../src/farm/remote-log.js';
import { remotePaths } from '../../src/farm/remote-paths.js';
import type { GuestSteps } from '../../src/farm/scheduler.js';
import type { CoordinateInput } from '../../src/farm/coordinator.js';
import type { ScenarioInstance, Scenario } from '../../src/scenarios/types.js';

/**
 * Virtual time: timers fire only when run() jumps to them, after everything already
 * due has settled. A coordinator test of minutes of farm time runs in milliseconds.
 */
export class FakeClock implements Clock {
  private t = 0;
  private nextId = 1;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.timers.set(id, { at: this.t + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.setTimeout(resolve, ms));
  }

  /** Runs virtual time until `work` settles; fails when nothing is left to happen and it still has not. */
  async run<T>(work: Promise<T>, limitMs = 24 * 3_600_000): Promise<T> {
    let settled = false;
    work.then(() => (settled = true), () => (settled = true));
    for (;;) {
      // Promise chains and stream callbacks run between timers, as they would in real time.
      for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
      if (settled) return work;
      const next = [...this.timers.entries()].sort((a, b) => a[1].at - b[1].at || a[0] - b[0])[0];
      if (!next) throw new Error(`stuck at ${this.t} ms: nothing left to happen and the work has not ended`);
      if (next[1].at > limitMs) throw new Error(`still running after ${limitMs} ms of virtual time`);
      this.timers.delete(next[0]);
      this.t = next[1].at;
      next[1].fn();
    }
  }
}

export interface FakeHostSpec {
  name: string;
  cpus: number;
  /** Whether a KVM probe guest runs fast there. */
  kvm?: boolean;
}

/** One spawned guest on a fake host, for assertions. */
export interface SpawnRecord {
  host: string;
  /** Which connection to that host (1 for the first, 2 after a rejoin). */
  connection: number;
  instance: string;
  at: number;
  ended?: { at: number; status: ExitStatus | 'lost' };
}

function cmd(command: string[], exitCode: number, stdout = '', durationMs = 1, extra: Partial<CmdResult> = {}): CmdResult {
  return { command, exitCode, signal: null, stdout, stderr: '', durationMs, timedOut: false, ...extra };
}

/**
 * One connection to a fake host: answers the probe's commands as a Debian host with
 * qemu would, and runs "guests" (`guest <instance>`) that end after the farm's guest
 * time. Cut, it drops like an ssh connection: running guests' `exited` rejects and
 * `lost` is emitted once.
 */
export class FakeHost extends EventEmitter<{ lost: [Error] }> implements Host {
  lostError: Error | null = null;
  private readonly running = new Set<{ fail: (e: Error) => void }>();

  constructor(readonly spec: FakeHostSpec, readonly connection: number, private readonly farm: FakeFarm) {
    super();
  }

  get name(): string {
    return this.spec.name;
  }

  async run(words: string[]): Promise<CmdResult> {
    this.checkAlive();
    const [program, ...args] = words;
    if (program === 'nproc') return cmd(words, 0, `${this.spec.cpus}\n`);
    if (program === 'mkdir') return cmd(words, 0);
    if (program === 'df') return cmd(words, 0, 'Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/vda1 8388608 0 4194304 0% /\n');
    if (program === FAKE_QEMU && args[0] === '--version') return cmd(words, 0, 'QEMU emulator version 7.2.0\n');
    if (program === FAKE_QEMU && args[0] === '-accel') {
      const accel = args[1];
      if (accel === 'kvm' && !this.spec.kvm) return cmd(words, null as unknown as number, '', 1000, { timedOut: true, signal: 'SIGKILL' });
      return cmd(words, PROBE_EXIT_STATUS, PROBE_OK, accel === 'kvm' ? 40 : 400);
    }
    return cmd(words, 127, '', 1, { stderr: `${program}: not found` });
  }

  async spawn(words: string[]): Promise<SpawnHandle> {
    this.checkAlive();
    if (words[0] !== 'guest') throw new Error(`fake host: cannot spawn ${words.join(' ')}`);
    const record: SpawnRecord = { host: this.name, connection: this.connection, instance: words[1]!, at: this.farm.clock.now() };
    this.farm.spawns.push(record);
    let end!: (s: ExitStatus) => void;
    let fail!: (e: Error) => void;
    const exited = new Promise<ExitStatus>((resolve, reject) => ((end = resolve), (fail = reject)));
    // Settles once: the guest's own end, a kill, or the link dropping under it.
    const finish = (status: ExitStatus | Error): void => {
      if (record.ended) return;
      this.running.delete(entry);
      record.ended = { at: this.farm.clock.now(), status: status instanceof Error ? 'lost' : status };
      if (status instanceof Error) fail(status);
      else end(status);
    };
    const entry = { fail: (e: Error) => finish(e) };
    this.running.add(entry);
    this.farm.clock.setTimeout(() => finish({ exitCode: 0, signal: null }), this.farm.guestMs);
    return {
      command: words, stdin: new PassThrough(), stdout: new PassThrough(), stderr: new PassThrough(), exited,
      kill: (signal = 'SIGTERM') => finish({ exitCode: null, signal }),
    };
  }

  async putStream(remotePath: string): Promise<CmdResult> {
    this.checkAlive();
    return cmd(['cat', '>', remotePath], 0);
  }

  async getStream(remotePath: string): Promise<CmdResult> {
    this.checkAlive();
    return cmd(['cat', remotePath], 0);
  }

  async close(): Promise<void> {}

  /**
   * The link drops: running guests' channels fail, then the connection reports its
   * loss, at once or `noticeMs` later (as a keepalive timeout notices it).
   */
  cut(noticeMs = 0): void {
    if (this.lostError) return;
    const error = new HostError('lost', this.name, `${this.name}: connection lost (keepalive timeout)`);
    this.lostError = error;
    for (const g of [...this.running]) g.fail(error);
    if (noticeMs === 0) this.emit('lost', error);
    else this.farm.clock.setTimeout(() => this.emit('lost', error), noticeMs);
  }

  private checkAlive(): void {
    if (this.lostError) throw this.lostError;
  }
}

export const FAKE_QEMU = 'qemu-system-x86_64';

/**
 * A farm of fake hosts on one virtual clock: hosts can be down (connection refused),
 * cut mid-run and brought back. Builds the coordinator's input with fake steps that
 * go through the hosts' Host interface; no ssh, no qemu, no kernels.
 */
export class FakeFarm {
  readonly clock = new FakeClock();
  readonly spawns: SpawnRecord[] = [];
  readonly connections: FakeHost[] = [];
  readonly sweeps: string[] = [];
  readonly cleanUps: string[] = [];
  readonly runDir = mkdtempSync(path.join(os.tmpdir(), 'kvmfarm-coord-'));
  readonly logLines: string[] = [];
  /** How long every guest runs. */
  guestMs = 30_000;
  private readonly down = new Set<string>();

  constructor(readonly hosts: FakeHostSpec[]) {}

  /** Connections to this host are refused until up() (it was never there, or it went away after a cut). */
  setDown(name: string): void {
    this.down.add(name);
  }

  setUp(name: string): void {
    this.down.delete(name);
  }

  /** Cuts the host's current connection; with `stayDown` it also refuses new ones. */
  cut(name: string, stayDown = false, noticeMs = 0): void {
    if (stayDown) this.down.add(name);
    this.current(name)?.cut(noticeMs);
  }

  current(name: string): FakeHost | undefined {
    return this.connections.filter((c) => c.name === name).at(-1);
  }

  remove(): void {
    rmSync(this.runDir, { recursive: true, force: true });
  }

  readonly fleetSteps: FleetSteps = {
    connect: async (name) => {
      await this.clock.sleep(100);
      if (this.down.has(name)) throw new HostError('refused', name, `${name}: connection refused by ${name}:22: is sshd running there, and is Port right?`);
      const spec = this.hosts.find((h) => h.name === name)!;
      const host = new FakeHost(spec, this.connections.filter((c) => c.name === name).length + 1, this);
      this.connections.push(host);
      return host;
    },
    probe: (host) => probeHost(host, { qemuBinary: FAKE_QEMU, accel: 'auto', remoteDir: '/tmp/kvm-farm' }),
    ship: async (host, _paths, begin) => {
      const readyAt = this.clock.now();
      if (!begin('1048576 bytes of kernels to send, 0 kernel(s) held already')) return null;
      await this.clock.sleep(1000);
      if ((host as FakeHost).lostError) throw (host as FakeHost).lostError;
      return { tarBytes: 1_050_000, blobBytes: 1_048_576, reused: 0, readyAt, beganAt: readyAt, heldAt: this.clock.now() };
    },
    sweep: async (host) => {
      this.sweeps.push(host.name);
      return 0;
    },
    cleanUp: async (m) => {
      this.cleanUps.push(m.name);
    },
  };

  /** Guest steps: a guest is `guest <id>` on the host; the abort signal kills it, as runRemoteGuest does. */
  guestSteps(signal?: AbortSignal): GuestSteps {
    return {
      place: async (_m, batch) => new Map(batch.instances.map((x) => [x.id, { command: { argv: ['guest', x.id], settings: {} } }])),
      run: async ({ instance, host, onExit }) => {
        const started = this.clock.now();
        const base = { instance, host: host.name, timedOut: false, noOutput: false, logPath: path.join(this.runDir, instance, 'console.log'), token: 'tok', accel: 'tcg' as const };
        let handle: SpawnHandle;
        try {
          handle = await host.spawn(['guest', instance]);
        } catch (error) {
          onExit();
          return { ...base, exitCode: null, signal: null, stopped: false, startError: (error as Error).message, durationMs: 0 };
        }
        const stop = (): void => handle.kill('SIGTERM');
        signal?.addEventListener('abort', stop);
        if (signal?.aborted) stop();
        try {
          const status = await handle.exited;
          return { ...base, ...status, stopped: signal?.aborted ?? false, startError: null, durationMs: this.clock.now() - started };
        } catch (error) {
          return { ...base, exitCode: null, signal: null, stopped: false, startError: (error as Error).message, durationMs: this.clock.now() - started };
        } finally {
          signal?.removeEventListener('abort', stop);
          onExit();
        }
      },
      judge: async (guest: GuestRun): Promise<Verdict> => ({
        instance: guest.instance,
        kind: guest.startError ? 'infra-error' : guest.stopped ? 'fail' : guest.exitCode === 0 ? 'pass' : 'fail',
        reasons: guest.stopped ? ['stopped by an interrupt'] : [],
        quoted: [],
      }),
    };
  }

  /** The coordinator's input for `instances` (id → CPUs) on this farm. */
  input(instances: Record<string, number>, over: Partial<CoordinateInput> = {}): CoordinateInput {
    const list: ScenarioInstance[] = Object.entries(instances).map(([id, cpus]) => ({ id, cpus, scenario: { name: id } as unknown as Scenario }));
    const results = new Map<string, InstanceResult>(list.map((x) => [x.id, {
      instance: x.id, scenario: x.id, batch: 0, cpus: x.cpus, kernel: { source: 'built', configMismatches: [] }, warnings: [],
    }]));
    return {
      hosts: this.hosts.map((h) => h.name),
      instances: list,
      results,
      runDir: this.runDir,
      minHosts: this.hosts.length,
      gatherTimeoutMs: 120_000,
      retries: 1,
      maxReconnects: 3,
      keepRemote: false,
      pathsFor: (name) => remotePaths('/tmp/kvm-farm', `run-${name}`),
      fleetSteps: this.fleetSteps,
      guestSteps: this.guestSteps(over.signal),
      log: new RemoteLog(this.runDir, (line) => this.logLines.push(line)),
      durationMs: this.guestMs,
      clock: this.clock,
      ...over,
    };
  }
}
