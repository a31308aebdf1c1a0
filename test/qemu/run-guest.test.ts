import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildQemuCommand, parseQemuCmdFile, runBatch, runGuest, type RunGuestOptions } from '../../src/qemu/index.js';

const FAKE_QEMU = fileURLToPath(new URL('./fixtures/fake-qemu.mjs', import.meta.url));

let runDir: string;
beforeEach(() => {
  runDir = mkdtempSync(path.join(tmpdir(), 'kvmfarm-rg-'));
});
afterEach(() => {
  rmSync(runDir, { recursive: true, force: true });
});

/** A guest of the fake qemu; `fake.*` boot words tell it how to behave. */
function guest(name: string, fake: string[], extra: Partial<RunGuestOptions> = {}): RunGuestOptions {
  const dir = path.join(runDir, name);
  const command = buildQemuCommand({
    accel: 'tcg',
    kernel: '/nonexistent/bzImage',
    consoleLog: path.join(dir, 'console.log'),
    cpus: 1,
    seconds: 1,
    shutdownGraceSeconds: 1,
    bootArgs: fake,
    qemuCmd: FAKE_QEMU,
  });
  return { instance: name, command, dir, bootTimeoutSeconds: 2, quietSeconds: 1, pollMs: 100, termGraceSeconds: 1, ...extra };
}

function fakeAlive(g: RunGuestOptions): boolean {
  const pid = Number(readFileSync(`${g.dir}/console.log.pid`, 'utf8'));
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('runGuest with a fake qemu', () => {
  it('records a guest that boots and exits by itself, with qemu-cmd and qemu-retval', async () => {
    const g = guest('ok', ['fake.mode=boot-exit', 'fake.seconds=0.5']);
    const run = await runGuest(g);
    expect(run).toMatchObject({ instance: 'ok', host: 'localhost', exitCode: 0, signal: null, timedOut: false, noOutput: false, stopped: false, startError: null, accel: 'tcg' });
    expect(run.token).toMatch(/^[0-9a-f]{16}$/);
    expect(readFileSync(run.logPath, 'utf8')).toContain(`kvmfarm.token=${run.token}`);
    expect(readFileSync(path.join(g.dir, 'qemu-retval'), 'utf8')).toBe('0\n');
    expect(parseQemuCmdFile(readFileSync(path.join(g.dir, 'qemu-cmd'), 'utf8'))).toEqual({ argv: g.command.argv, settings: g.command.settings });
  });

  it('passes on a nonzero exit without calling it a start error once the console has output', async () => {
    const run = await runGuest(guest('exit3', ['fake.mode=boot-exit', 'fake.seconds=0.2', 'fake.exit=3']));
    expect(run.exitCode).toBe(3);
    expect(run.startError).toBeNull();
  });

  it('kills a guest whose console stays empty as no-boot', async () => {
    const g = guest('silent', ['fake.mode=silent']);
    const run = await runGuest(g);
    expect(run).toMatchObject({ noOutput: true, timedOut: false, exitCode: null, signal: 'SIGKILL' });
    expect(run.durationMs).toBeGreaterThanOrEqual(2000);
    expect(run.durationMs).toBeLessThan(5000);
    expect(readFileSync(path.join(g.dir, 'qemu-retval'), 'utf8')).toBe('137\n');
    expect(fakeAlive(g)).toBe(false);
  });

  it('counts firmware chatter without a kernel line as no-boot', async () => {
    const run = await runGuest(guest('firmware', ['fake.mode=firmware']));
    expect(run.noOutput).toBe(true);
  });

  it('kills a guest whose console stops growing after duration plus grace as hung', async () => {
    const run = await runGuest(guest('hang', ['fake.mode=hang']));
    expect(run).toMatchObject({ timedOut: true, noOutput: false, signal: 'SIGKILL' });
    // duration 1 s + grace 1 s + quiet 1 s (the console went quiet at once)
    expect(run.durationMs).toBeGreaterThanOrEqual(2000);
    expect(run.durationMs).toBeLessThan(5000);
  });

  it('extends while the console grows, up to the overtime limit', async () => {
    const run = await runGuest(guest('chatter', ['fake.mode=chatter'], { maxOvertimeSeconds: 2 }));
    expect(run.timedOut).toBe(true);
    expect(run.durationMs).toBeGreaterThanOrEqual(4000);
    expect(run.durationMs).toBeLessThan(7000);
  });

  it('stops on the run directory STOP file, escalating to SIGKILL when SIGTERM is ignored', async () => {
    const g = guest('stop', ['fake.mode=hang', 'fake.ignore-term=1'], { durationSeconds: 60 });
    setTimeout(() => writeFileSync(path.join(runDir, 'STOP'), ''), 700);
    const run = await runGuest(g);
    expect(run).toMatchObject({ stopped: true, timedOut: false, signal: 'SIGKILL' });
    expect(run.durationMs).toBeLessThan(4000);
    expect(fakeAlive(g)).toBe(false);
  });

  it('stops on abort with SIGTERM', async () => {
    const controller = new AbortController();
    const g = guest('abort', ['fake.mode=hang'], { durationSeconds: 60, signal: controller.signal });
    setTimeout(() => controller.abort(), 500);
    const run = await runGuest(g);
    expect(run).toMatchObject({ stopped: true, signal: 'SIGTERM' });
    expect(run.durationMs).toBeLessThan(2000);
  });

  it('reports a qemu that refuses to start, with its error line', async () => {
    const run = await runGuest(guest('bad', ['fake.mode=fail-start']));
    expect(run.exitCode).toBe(1);
    expect(run.startError).toBe('qemu-system-x86_64: -kernel /nonexistent/bzImage: could not open kernel');
  });

  it('reports a missing qemu binary as a start error', async () => {
    const g = guest('missing', []);
    g.command = { ...g.command, argv: ['/nonexistent/qemu-system-x86_64', ...g.command.argv.slice(1)] };
    const run = await runGuest(g);
    expect(run.startError).toMatch(/ENOENT/);
    expect(run.exitCode).toBeNull();
  });

  it('pins the guest with taskset when given an affinity', async () => {
    const run = await runGuest(guest('pinned', ['fake.mode=boot-exit', 'fake.seconds=0.2'], { affinity: '0' }));
    expect(run.exitCode).toBe(0);
  });
});

describe('runBatch', () => {
  it('runs guests at once and returns every record in order', async () => {
    const started = Date.now();
    const runs = await runBatch([
      guest('a', ['fake.mode=boot-exit', 'fake.seconds=1']),
      guest('b', ['fake.mode=boot-exit', 'fake.seconds=1']),
      guest('c', ['fake.mode=fail-start']),
    ]);
    expect(runs.map((r) => r.instance)).toEqual(['a', 'b', 'c']);
    expect(runs.map((r) => r.exitCode)).toEqual([0, 0, 1]);
    expect(Date.now() - started).toBeLessThan(2500);
  });

  it('stops every guest on abort and turns bad options into a record', async () => {
    const controller = new AbortController();
    const bad = guest('nocon', []);
    bad.command = { ...bad.command, argv: bad.command.argv.filter((w) => !w.startsWith('file:') && w !== '-serial') };
    setTimeout(() => controller.abort(), 500);
    const runs = await runBatch(
      [guest('x', ['fake.mode=hang'], { durationSeconds: 60 }), guest('y', ['fake.mode=silent'], { bootTimeoutSeconds: 60 }), bad],
      { signal: controller.signal },
    );
    expect(runs.map((r) => r.stopped)).toEqual([true, true, false]);
    expect(runs[2]!.startError).toMatch(/-serial file/);
  });
});

afterEach(() => {
  // No fake qemu may outlive its test.
  const left = execFileSync('sh', ['-c', 'pgrep -f "fake-qem[u].mjs" || true'], { encoding: 'utf8' }).trim();
  expect(left).toBe('');
});
void existsSync;
