import { describe, expect, it, vi } from 'vitest';

// The front door's own job, apart from what it calls: fill defaults, check values,
// and hand every callback through. The calls behind it are replaced here; the
// package test runs the real ones from an installed tarball.
const seen: Record<string, unknown>[] = [];
vi.mock('../../src/run/kvm-run.js', () => ({ runKvm: async (options: Record<string, unknown>) => (seen.push(options), { instances: [] }) }));
vi.mock('../../src/again/again.js', () => ({ againRun: async (options: Record<string, unknown>) => (seen.push(options), { instances: [] }) }));

const { run, again, DEFAULTS, isKvmFarmError } = await import('../../src/index.js');

describe('the library front door', () => {
  it('run() fills every default once and passes signal, log and progress through', async () => {
    const signal = new AbortController().signal;
    const log = () => {};
    const progress = { build() {}, guestStarted() {}, guestEnded() {} } as never;
    await run({ configs: 'UP01-SMALL', signal, log, progress });
    expect(seen.at(-1)).toMatchObject({ configs: 'UP01-SMALL', durationSeconds: DEFAULTS.durationSeconds, memory: DEFAULTS.memory, signal, log, progress });
  });

  it('again() fills its defaults and passes the callbacks through', async () => {
    const log = () => {};
    await again({ runDir: 'res/x', log });
    expect(seen.at(-1)).toMatchObject({ runDir: 'res/x', link: DEFAULTS.link, bootTimeoutSeconds: DEFAULTS.bootTimeoutSeconds, log });
  });

  it('a bad value never reaches the run: one KvmFarmError naming it', async () => {
    const before = seen.length;
    const error = await run({ bootTimeoutSeconds: 0 }).catch((e: unknown) => e);
    expect(isKvmFarmError(error) && error.message).toBe('--boot-timeout 0s: must be a whole number from 1 to 86400 s');
    expect(seen.length).toBe(before);
  });
});
