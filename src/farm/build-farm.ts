import path from 'node:path';
import { compileKernel, type CompileOutcome } from '../build/compile.js';
import { resolveKernelTree } from '../build/kernel-tree.js';
import { resolveToolchain } from '../build/make.js';
import { cacheLayout } from '../build/store.js';
import type { KernelCompiler } from '../build/types.js';
import type { Host } from '../transport/index.js';
import { buildHereAfterLoss, chooseBuilders, nextBuildFor, nextJobFor, type BuildOn, type BuilderChoice } from './build-policy.js';
import { connectHost, LOCALHOST, type HostConnectOptions } from './connect-hosts.js';
import { probeBuild, type BuildProbe } from './probe-build.js';
import { BuildHostLost, compileOnHost } from './remote-compile.js';
import { shipSource, sourceRoot, type SourceShipReport } from './ship-source.js';
import { sourceManifest, type SourceManifest } from './source-manifest.js';

export interface BuildFarmOptions {
  hosts: readonly string[];
  connect: HostConnectOptions;
  remoteDir: string;
  kernelDir: string;
  kmakeArgs: readonly string[];
  /** `--build-on`; default: hosts when at least one can build. */
  buildOn?: BuildOn;
  cacheDir?: string;
  /** Longest one host may take to receive the source. */
  shipTimeoutMs: number;
  /** Longest one build may take on a host. */
  buildTimeoutMs: number;
  log: (line: string) => void;
  signal?: AbortSignal;
  /** Replaces steps (a unit test's fakes); default the real ones. */
  steps?: Partial<BuildSteps>;
}

/** What the build farm does to hosts, one step each: ssh and make in a run, fakes in a unit test. */
export interface BuildSteps {
  connect(name: string): Promise<Host>;
  probe(host: Host, compiler: string): Promise<BuildProbe>;
  /** Sends the tree; resolves with its path there. */
  ship(host: Host, manifest: SourceManifest): Promise<SourceShipReport>;
  compile(input: Omit<Parameters<typeof compileOnHost>[0], 'remoteDir' | 'timeoutMs'>): Promise<CompileOutcome>;
  /** A build that came back here. */
  buildHere(job: Parameters<KernelCompiler>[0]): Promise<CompileOutcome>;
  manifest(): Promise<SourceManifest>;
  localCompiler(): Promise<string>;
}

/** One build as it went, for the report. */
export interface HostBuild {
  label: string;
  key: string;
  ms: number;
  ok: boolean;
  /** When the build ended there (ISO time): guests of kernels built earlier may have started before it. */
  endedAt: string;
}

/** What one host did for the builds. */
export interface HostBuildReport {
  name: string;
  builder: boolean;
  /** Why it only runs guests (cannot build, another compiler, unreachable). */
  why?: string;
  compiler?: string;
  cpus?: number;
  source?: SourceShipReport;
  builds: HostBuild[];
  /** Set when the host was lost during the build phase. */
  lost?: string;
}

export interface FarmBuildReport {
  buildOn: BuildOn;
  /** Time to list and hash the tree here (per-file hashes reused by stat). */
  manifestMs: number;
  /** Files whose content was hashed this time. */
  hashed: number;
  hosts: HostBuildReport[];
  /** Builds that came back here (no builder left, or lost too often). */
  builtHere: string[];
}

/** A build lost on this many hosts is built here instead. */
const MAX_HOST_ATTEMPTS = 2;

interface Waiting {
  key: string;
  avoidHosts: string[];
  attempts: number;
  job: Parameters<KernelCompiler>[0];
  done: (outcome: Promise<CompileOutcome>) => void;
}

interface Builder {
  name: string;
  host: Host;
  probe: BuildProbe;
  busy: boolean;
  dead: boolean;
  source: Promise<string>;
  report: HostBuildReport;
}

/**
 * The farm's hosts as kernel builders, for the build phase of kvm-remote: connects
 * and probes every host, chooses builders (build-policy.ts), sends each builder the
 * source once (content-addressed) as soon as it is chosen, and hands each idle
 * builder the next configured kernel. A host lost mid-build has its build moved to
 * another builder, or here.
 */
export class BuildFarm {
  private opened?: Promise<void>;
  private choice: BuilderChoice = { buildOn: 'here', builders: [], guestsOnly: [] };
  private builders: Builder[] = [];
  private others: HostBuildReport[] = [];
  private manifest?: SourceManifest;
  private hosts: Host[] = [];
  private readonly waiting: Waiting[] = [];
  private readonly builtHere: string[] = [];
  /** Builds that came back here run one at a time, as kvm-run's do. */
  private hereChain: Promise<unknown> = Promise.resolve();

  private readonly steps: BuildSteps;
  /** The run sharing these hosts (kvm-remote): a host running a batch starts no build; a host done building is handed back. */
  private run?: { busy(host: string): boolean; idle(host: string): void };

  constructor(private readonly o: BuildFarmOptions) {
    this.steps = { ...realBuildSteps(o), ...o.steps };
  }

  /**
   * The compiler buildKernels hands configured kernels to. Nothing is contacted until
   * the first kernel really needs compiling: a run whose kernels are all cached costs
   * the hosts nothing.
   */
  get compiler(): KernelCompiler {
    return (job) => {
      this.opened ??= this.open();
      return this.opened.then(() => new Promise<CompileOutcome>((resolve, reject) => {
        const w: Waiting = { key: job.key, avoidHosts: [], attempts: 0, job, done: (p) => p.then(resolve, reject) };
        if (this.choice.buildOn !== 'hosts') {
          w.done(this.buildHere(w));
          return;
        }
        this.waiting.push(w);
        this.dispatch();
      }));
    };
  }

  /** Shares the hosts with a run: builds and batches are one host's jobs in turn (see offer). */
  attach(run: { busy(host: string): boolean; idle(host: string): void }): void {
    this.run = run;
  }

  /**
   * The run asks whether `host` should build rather than take a batch: true when it is
   * building, or now starts the next waiting build. A build goes first because guests
   * wait for kernels; a builder with no build to do takes batches.
   */
  offer(host: string): boolean {
    const b = this.builders.find((x) => x.name === host && !x.dead);
    const job = nextJobFor({ name: host, builder: !!b, building: !!b?.busy }, this.waiting, this.builders.filter((x) => !x.dead).map((x) => x.name));
    if (job.kind === 'batch') return false;
    if (job.kind === 'build') {
      this.waiting.splice(this.waiting.indexOf(job.build as Waiting), 1);
      void this.runOn(b!, job.build as Waiting);
    }
    return true;
  }

  /** Connects and probes every host, chooses builders, and starts sending each builder the source. */
  private async open(): Promise<void> {
    const o = this.o;
    const steps = this.steps;
    const cc = (o.kmakeArgs.filter((a) => a.startsWith('CC=')).pop()?.slice(3) ?? `${o.kmakeArgs.filter((a) => a.startsWith('CROSS_COMPILE=')).pop()?.slice(14) ?? ''}gcc`).split(/\s+/)[0]!;
    const remote = o.buildOn === 'here' ? [] : o.hosts.filter((h) => h !== LOCALHOST);
    const [manifest, localCompiler, ...reached] = await Promise.all([
      steps.manifest(),
      steps.localCompiler(),
      ...remote.map(async (name) => {
        try {
          const host = await steps.connect(name);
          return { name, host, probe: await steps.probe(host, cc) };
        } catch (error) {
          return { name, error: (error as Error).message };
        }
      }),
    ]) as [SourceManifest, string, ...({ name: string; host: Host; probe: BuildProbe } | { name: string; error: string })[]];
    this.manifest = manifest;
    const probed = reached.filter((r): r is { name: string; host: Host; probe: BuildProbe } => 'probe' in r);
    this.hosts = probed.map((p) => p.host);
    const choice = chooseBuilders(o.buildOn, probed.map((r) => ({ name: r.name, cpus: r.probe.cpus, canBuild: r.probe.canBuild, compiler: r.probe.compiler, why: r.probe.why })), localCompiler);
    this.choice = choice;
    this.others = [
      ...reached.filter((r): r is { name: string; error: string } => 'error' in r).map((r) => ({ name: r.name, builder: false, why: `unreachable: ${r.error}`, builds: [] })),
      ...choice.guestsOnly.map((g) => ({ name: g.name, builder: false, why: g.why, builds: [] as HostBuild[] })),
    ];
    this.builders = choice.builders.map((name): Builder => {
      const r = probed.find((p) => p.name === name)!;
      const report: HostBuildReport = { name, builder: true, compiler: r.probe.compiler, cpus: r.probe.cpus, builds: [] };
      const source = steps.ship(r.host, manifest).then((s) => {
        report.source = s;
        o.log(`${name}: source tree ${s.bytes === 0 ? 'held already, 0 bytes sent' : `sent: ${s.bytes} bytes, ${s.objects} new file(s)${s.base ? ', the rest linked from the tree it held' : ''}`} (decided in ${(s.decideMs / 1000).toFixed(2)} s, sent in ${(s.shipMs / 1000).toFixed(1)} s)`);
        return s.tree;
      });
      source.catch(() => {});
      return { name, host: r.host, probe: r.probe, busy: false, dead: false, source, report };
    });
    o.log(`source tree ${manifest.id.slice(0, 12)}: ${manifest.entries.length} files, ${manifest.hashed} hashed, listed in ${(manifest.durationMs / 1000).toFixed(2)} s`);
    o.log(choice.buildOn === 'hosts'
      ? `building on ${choice.builders.join(' ')}${choice.guestsOnly.length ? `; guests only: ${choice.guestsOnly.map((g) => `${g.name} (${g.why})`).join(', ')}` : ''}`
      : `building here${choice.guestsOnly.length ? `: ${choice.guestsOnly.map((g) => `${g.name} (${g.why})`).join(', ')}` : ''}`);
  }

  /** Undefined when nothing needed compiling (the hosts were never contacted). */
  report(): FarmBuildReport | undefined {
    if (!this.manifest) return undefined;
    return {
      buildOn: this.choice.buildOn, manifestMs: this.manifest.durationMs, hashed: this.manifest.hashed,
      hosts: [...this.builders.map((b) => b.report), ...this.others], builtHere: [...this.builtHere],
    };
  }

  async close(): Promise<void> {
    await Promise.all(this.hosts.map((h) => h.close().catch(() => {})));
  }

  private dispatch(): void {
    const live = this.builders.filter((b) => !b.dead);
    if (live.length === 0) {
      // Every builder is gone: what still waits is built here.
      for (const w of this.waiting.splice(0)) {
        this.builtHere.push(w.job.label);
        this.o.log(`${w.job.label}: no builder left, building here`);
        w.done(this.buildHere(w));
      }
      return;
    }
    for (const b of live) {
      if (b.busy || this.run?.busy(b.name)) continue;
      const next = nextBuildFor(b.name, this.waiting, live.map((x) => x.name));
      if (!next) continue;
      this.waiting.splice(this.waiting.indexOf(next as Waiting), 1);
      void this.runOn(b, next as Waiting);
    }
  }

  private async runOn(b: Builder, w: Waiting): Promise<void> {
    b.busy = true;
    const started = Date.now();
    try {
      const tree = await b.source;
      const ccache = b.probe.ccache && w.job.context.toolchain.ccache;
      this.o.log(`${b.name}: building ${w.job.label} with -j${b.probe.cpus}${ccache ? ' through ccache' : ''}`);
      const outcome = await this.steps.compile({ host: b.host, tree, key: w.key, dotConfig: w.job.dotConfig, context: w.job.context, jobs: b.probe.cpus, ccache });
      b.report.builds.push({ label: w.job.label, key: w.key, ms: Date.now() - started, ok: outcome.ok, endedAt: new Date().toISOString() });
      this.o.log(`${b.name}: ${w.job.label} ${outcome.ok ? 'built' : `failed: ${outcome.reason}`} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      w.done(Promise.resolve(outcome));
    } catch (error) {
      const lost = error instanceof BuildHostLost || !!(error as { code?: string }).code?.startsWith('KVMFARM_HOST');
      if (!lost && this.o.signal?.aborted) {
        w.done(Promise.reject(error as Error));
        return;
      }
      // A host that cannot take the source or drops its connection builds nothing more in this run.
      b.dead = true;
      b.report.lost = (error as Error).message;
      this.o.log(`${b.name}: lost during the build of ${w.job.label}: ${(error as Error).message}`);
      w.avoidHosts.push(b.name);
      w.attempts++;
      const live = this.builders.filter((x) => !x.dead).length;
      if (buildHereAfterLoss(w.attempts, live, MAX_HOST_ATTEMPTS)) {
        this.o.log(`${w.job.label}: building here instead`);
        this.builtHere.push(w.job.label);
        w.done(this.buildHere(w));
      } else {
        this.waiting.unshift(w);
      }
    } finally {
      b.busy = false;
      this.dispatch();
      // Nothing more to build there: the host takes batches.
      if (!b.busy) this.run?.idle(b.name);
    }
  }

  private buildHere(w: Waiting): Promise<CompileOutcome> {
    const outcome = this.hereChain.then(() => this.steps.buildHere(w.job));
    this.hereChain = outcome.catch(() => undefined);
    return outcome;
  }
}

/** The build farm's steps on real hosts: ssh (connect-hosts), the build probe, tar over the connection, make there. */
function realBuildSteps(o: BuildFarmOptions): BuildSteps {
  const signal = o.signal ? { signal: o.signal } : {};
  const stateDir = path.join(cacheLayout(o.cacheDir).root, 'build', 'source-state');
  const treeDir = () => resolveKernelTree(o.kernelDir).dir;
  return {
    connect: (name) => connectHost(name, o.connect),
    probe: (host, compiler) => probeBuild(host, { compiler, remoteDir: o.remoteDir, ...signal }),
    ship: (host, manifest) => shipSource(host, sourceRoot(o.remoteDir), manifest, { stateDir, treeDir: treeDir(), timeoutMs: o.shipTimeoutMs, ...signal }),
    compile: (input) => compileOnHost({ ...input, remoteDir: o.remoteDir, timeoutMs: o.buildTimeoutMs }),
    buildHere: (job) => compileKernel(job.context, job.key, job.dotConfig, job.onProgress),
    manifest: () => sourceManifest(resolveKernelTree(o.kernelDir), stateDir),
    localCompiler: async () => (await resolveToolchain([...o.kmakeArgs], 'off')).compiler,
  };
}
