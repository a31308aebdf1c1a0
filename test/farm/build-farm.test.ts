import { describe, expect, it } from 'vitest';
import type { CompileContext, CompileOutcome } from '../../src/build/compile.js';
import { BuildFarm, type BuildSteps } from '../../src/farm/build-farm.js';
import { BuildHostLost } from '../../src/farm/remote-compile.js';
import type { Host } from '../../src/transport/index.js';

const GCC = 'gcc 12';
const built = (key: string): CompileOutcome => ({ ok: true, status: 'built', meta: { cacheKey: key, kernelVersion: '6.1', bootImage: 'bzImage', warningCount: 0, makeMs: 1, builtAt: '' } });

/** A farm of fake hosts: what each compile does is up to `compile`; every step is recorded. */
function fakeFarm(hosts: Record<string, { cpus: number; canBuild?: boolean; unreachable?: boolean }>, compile: (host: string, key: string) => Promise<CompileOutcome>) {
  const events: string[] = [];
  const steps: BuildSteps = {
    connect: async (name) => {
      if (hosts[name]!.unreachable) throw new Error('connection refused');
      return { name, close: async () => {} } as unknown as Host;
    },
    probe: async (host) => ({ canBuild: hosts[host.name]!.canBuild ?? true, why: hosts[host.name]!.canBuild === false ? 'install flex' : '', compiler: GCC, cpus: hosts[host.name]!.cpus, freeBytes: 1e12, ccache: false }),
    ship: async (host) => {
      events.push(`ship ${host.name}`);
      return { tree: `/t/${host.name}`, bytes: 10, objects: 1, decideMs: 0, shipMs: 0 };
    },
    compile: async (input) => {
      events.push(`compile ${input.host.name} ${input.key} -j${input.jobs}`);
      return compile(input.host.name, input.key);
    },
    buildHere: async (job) => {
      events.push(`here ${job.key}`);
      return built(job.key);
    },
    manifest: async () => ({ id: 'm', entries: [], hashed: 0, durationMs: 0 }),
    localCompiler: async () => GCC,
  };
  const farm = new BuildFarm({
    hosts: Object.keys(hosts), connect: {}, remoteDir: '/r', kernelDir: '/k', kmakeArgs: [], shipTimeoutMs: 1000, buildTimeoutMs: 1000, log: () => {}, steps,
  });
  const job = (key: string) => farm.compiler({ key, dotConfig: '', label: key, context: { toolchain: { ccache: false } } as CompileContext, onProgress: () => {} });
  return { farm, events, job };
}

describe('BuildFarm', () => {
  it('builds side by side on every able host, widest first, each with -j its CPUs; others only run guests', async () => {
    const { farm, events, job } = fakeFarm({ small: { cpus: 1 }, big: { cpus: 4 }, nobuild: { cpus: 8, canBuild: false }, gone: { cpus: 8, unreachable: true } },
      async (_h, key) => built(key));
    const outcomes = await Promise.all(['k1', 'k2', 'k3'].map(job));
    expect(outcomes.every((o) => o.ok)).toBe(true);
    expect(events.filter((e) => e.startsWith('compile')).slice(0, 2)).toEqual(['compile big k1 -j4', 'compile small k2 -j1']);
    const report = farm.report()!;
    expect(report.buildOn).toBe('hosts');
    expect(report.hosts.map((h) => [h.name, h.builder, h.why])).toEqual([
      ['big', true, undefined], ['small', true, undefined], ['gone', false, 'unreachable: connection refused'], ['nobuild', false, 'install flex'],
    ]);
    expect(report.hosts.flatMap((h) => h.builds).length).toBe(3);
  });

  it('moves a build whose host was lost to another host, and builds here once no builder is left', async () => {
    const { farm, events, job } = fakeFarm({ a: { cpus: 2 }, b: { cpus: 1 } }, async (host, key) => {
      if (host === 'a') throw new BuildHostLost('a: connection lost');
      return built(key);
    });
    expect((await job('k1')).ok).toBe(true);
    expect(events.filter((e) => e.startsWith('compile'))).toEqual(['compile a k1 -j2', 'compile b k1 -j1']);
    expect(farm.report()!.hosts.find((h) => h.name === 'a')!.lost).toContain('connection lost');

    const both = fakeFarm({ a: { cpus: 2 }, b: { cpus: 1 } }, async (host) => {
      throw new BuildHostLost(`${host}: connection lost`);
    });
    const [o1, o2] = await Promise.all([both.job('k1'), both.job('k2')]);
    expect(o1!.ok && o2!.ok).toBe(true);
    expect(both.events.filter((e) => e.startsWith('here')).sort()).toEqual(['here k1', 'here k2']);
    expect(both.farm.report()!.builtHere.sort()).toEqual(['k1', 'k2']);
  });

  it('contacts no host while nothing needs compiling, and builds here when no host can build', async () => {
    const idle = fakeFarm({ a: { cpus: 2 } }, async (_h, key) => built(key));
    expect(idle.farm.report()).toBeUndefined();
    expect(idle.events).toEqual([]);
    const none = fakeFarm({ a: { cpus: 2, canBuild: false } }, async (_h, key) => built(key));
    expect((await none.job('k1')).ok).toBe(true);
    expect(none.events).toEqual(['here k1']);
    expect(none.farm.report()!.buildOn).toBe('here');
  });

  it('shares its hosts with a run: no build starts on a host running a batch; the run offers it the host back and hears when it is done', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const { farm, events, job } = fakeFarm({ a: { cpus: 2 }, b: { cpus: 1 } }, async (host, key) => {
      if (key === 'k1') await held;
      return built(key);
    });
    const running = new Set(['b']);
    const idle: string[] = [];
    farm.attach({ busy: (host) => running.has(host), idle: (host) => idle.push(host) });
    const k1 = job('k1');
    const k2 = job('k2');
    // Let the farm open and hand out what it can: a takes k1; b runs a batch, so k2 waits.
    for (let i = 0; i < 20; i++) await Promise.resolve();
    await new Promise((resolve) => setImmediate(resolve));
    expect(events.filter((e) => e.startsWith('compile'))).toEqual(['compile a k1 -j2']);
    // a is building: the run may not give it a batch.
    expect(farm.offer('a')).toBe(true);
    // b's batch ended: offered to the farm, it takes k2 instead of another batch.
    running.delete('b');
    expect(farm.offer('b')).toBe(true);
    expect((await k2).ok).toBe(true);
    expect(idle).toContain('b');
    // Nothing left to build: b goes back to running batches.
    expect(farm.offer('b')).toBe(false);
    release();
    expect((await k1).ok).toBe(true);
    expect(idle).toContain('a');
    expect(farm.offer('a')).toBe(false);
    expect(events.filter((e) => e.startsWith('compile'))).toEqual(['compile a k1 -j2', 'compile b k2 -j1']);
  });
});
