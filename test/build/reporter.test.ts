import { describe, expect, it } from 'vitest';
import { createBuildReporter, createLineReporter, describeBuildEvent } from '../../src/build/reporter.js';
import type { BuildEvent } from '../../src/build/types.js';

const event: BuildEvent = { label: 'TINY01 +1', instances: ['TINY01', 'TINY01.2'], phase: 'make', elapsedMs: 42_000 };

function sink(isTTY: boolean) {
  const written: string[] = [];
  const stream = Object.assign(new (class {})(), { isTTY, columns: 80, write: (t: string) => (written.push(t), true) });
  return { stream: stream as unknown as NodeJS.WriteStream, written };
}

describe('build reporters', () => {
  it('describe an event in one line with its elapsed time', () => {
    expect(describeBuildEvent({ ...event, detail: '  CC      kernel/rcu/update.o' })).toBe(
      'TINY01 +1 make 42.0s: CC      kernel/rcu/update.o',
    );
    expect(describeBuildEvent({ ...event, phase: 'done', status: 'cached' })).toBe('TINY01 +1 done cached 42.0s');
  });

  it('plain reporter writes timestamped phase lines and skips make progress', () => {
    const { stream, written } = sink(false);
    const reporter = createLineReporter(stream, () => new Date('2026-01-02T03:04:05Z'));
    reporter.event?.(event);
    reporter.event?.({ ...event, detail: '  CC x.o' });
    expect(written).toEqual(['2026-01-02T03:04:05.000Z build TINY01 +1 make 42.0s\n']);
  });

  it('picks plain lines off a TTY and under CI, the live line on a TTY', () => {
    const plain = sink(false);
    createBuildReporter(plain.stream, {}).event?.(event);
    expect(plain.written[0]).toMatch(/^\d{4}-\d\d-\d\dT.* build TINY01 \+1 make/);

    const ci = sink(true);
    createBuildReporter(ci.stream, { CI: 'true' }).event?.(event);
    expect(ci.written[0]).toMatch(/^\d{4}-/);

    const tty = sink(true);
    const live = createBuildReporter(tty.stream, {});
    live.event?.(event);
    live.close?.();
    expect(tty.written.join('')).toContain('TINY01 +1 make 42.0s');
    expect(tty.written.join('')).not.toMatch(/^\d{4}-/);
  });
});
