import { describe, expect, it } from 'vitest';
import { classifyGuestEnd, decideAfterInfraFault, describeShipFailure, faultStaysWithHost, type GuestEndFacts } from '../../src/farm/infra-fault.js';
import { startAttempt, type Attempt } from '../../src/farm/requeue.js';
import { judge } from '../../src/analyze/judge.js';
import type { GuestRun } from '../../src/qemu/types.js';

const ended = (over: Partial<GuestEndFacts> = {}): GuestEndFacts => ({
  host: 'f2', exitCode: 0, signal: null, killedByUs: false, startError: null, qemuOutput: '', consoleBytes: 5000, freeKiB: 100_000, consoleDir: '/tmp/kvm-farm/runs/r/UP01', ...over,
});

describe('infrastructure faults of a guest\'s host', () => {
  it('a clean end, and kvm-farm\'s own kills, are the kernel\'s to judge', () => {
    expect(classifyGuestEnd(ended())).toBeNull();
    expect(classifyGuestEnd(ended({ exitCode: null, signal: 'SIGKILL', killedByUs: true }))).toBeNull();
    expect(classifyGuestEnd(ended({ exitCode: 1 }))).toBeNull();
  });

  it('names qemu killed or crashing from outside, a full disk, and a missing qemu', () => {
    expect(classifyGuestEnd(ended({ exitCode: null, signal: 'SIGKILL' }))).toMatchObject({ kind: 'qemu-killed', detail: expect.stringMatching(/^f2: qemu was killed by SIGKILL, not by kvm-farm/) });
    expect(classifyGuestEnd(ended({ exitCode: null, signal: 'SIGSEGV', qemuOutput: 'Segmentation fault\n' }))).toEqual({ kind: 'qemu-crashed', detail: 'f2: qemu ended with SIGSEGV: Segmentation fault' });
    expect(classifyGuestEnd(ended({ freeKiB: 0 }))?.kind).toBe('disk-full');
    // Even a guest kvm-farm killed for a quiet console: the console went quiet because the disk was full.
    expect(classifyGuestEnd(ended({ freeKiB: 12, exitCode: null, signal: 'SIGKILL', killedByUs: true }))?.kind).toBe('disk-full');
    expect(classifyGuestEnd(ended({ exitCode: 127, consoleBytes: 0, startError: 'sh: 1: /usr/bin/qemu-system-x86_64: not found', qemuOutput: 'sh: 1: /usr/bin/qemu-system-x86_64: not found\n' })))
      .toEqual({ kind: 'qemu-missing', detail: 'f2: qemu could not be run: sh: 1: /usr/bin/qemu-system-x86_64: not found' });
    expect(classifyGuestEnd(ended({ exitCode: 1, consoleBytes: 0, startError: 'qemu: could not load kernel' }))?.kind).toBe('qemu-start-failed');
    expect(faultStaysWithHost({ kind: 'disk-full', detail: '' })).toBe(true);
    expect(faultStaysWithHost({ kind: 'qemu-killed', detail: '' })).toBe(false);
  });

  it('a host\'s words in a fault stay one bounded line', () => {
    const detail = classifyGuestEnd(ended({ exitCode: null, signal: 'SIGABRT', qemuOutput: `\x1b[2Jabort ${'x'.repeat(5000)}\n` }))!.detail;
    expect(detail).not.toMatch(/[\x00-\x1f]/);
    expect(detail.length).toBeLessThan(300);
  });

  it('reruns away from the faulty host within --retries, then gives up as infra-error, never a kernel verdict', () => {
    let ledger: Attempt[] = startAttempt([], 'A', 'f2').ledger;
    const fault = { kind: 'qemu-killed' as const, detail: 'f2: qemu was killed' };
    const first = decideAfterInfraFault(ledger, 'A', 1, 'f2', fault, 1);
    expect(first).toMatchObject({ console: 'console.log.infra-f2-1', requeue: { attempt: 2, avoidHosts: ['f2'] } });
    expect(first.ledger[0]!.outcome).toBe('infra');
    ledger = startAttempt(first.ledger, 'A', 'f1').ledger;
    const second = decideAfterInfraFault(ledger, 'A', 2, 'f1', fault, 1);
    expect(second.requeue).toBeUndefined();
    expect(second.giveUp).toMatchObject({ kind: 'infra-error', reasons: ['qemu-killed: f2: qemu was killed', expect.stringMatching(/^2 attempts failed on the hosts: f2 \(attempt 1\), f1 \(attempt 2\); --retries 1 used up/)] });
  });

  it('a failed shipment says disk-full when the host said so', () => {
    expect(describeShipFailure('receiving into /x ended with 2: tar: incoming/ab: Cannot write: No space left on device')).toMatch(/^disk-full while receiving kernels: /);
    expect(describeShipFailure('receiving into /x ended with 2: tar: bad')).toBe('receiving into /x ended with 2: tar: bad');
    expect(describeShipFailure('receiving into /x ended with 1: tar: incoming/ab: Wrote only 7168 of 10240 bytes', { kib: 0, dir: '/x' }))
      .toBe('disk-full while receiving kernels (0 KiB free in /x): receiving into /x ended with 1: tar: incoming/ab: Wrote only 7168 of 10240 bytes');
    expect(describeShipFailure('receiving into /x ended with 2: tar: bad', { kib: 500_000, dir: '/x' })).toBe('receiving into /x ended with 2: tar: bad');
  });

  it('the judge never judges a guest whose host ended it', () => {
    const guest: GuestRun = { instance: 'A', host: 'f2', exitCode: null, signal: 'SIGKILL', timedOut: false, noOutput: false, stopped: false, startError: null, durationMs: 1, logPath: '/x', token: 't', accel: 'tcg' };
    const input = { instance: 'A', guest, expectedVersion: '6.1.0', durationSeconds: 10 } as unknown as Parameters<typeof judge>[0];
    expect(judge(input)).toMatchObject({ kind: 'infra-error', reasons: [expect.stringMatching(/^qemu was ended by SIGKILL, which kvm-farm did not send/)] });
    expect(judge({ ...input, guest: { ...guest, signal: null, exitCode: 0, infraFault: { kind: 'disk-full', detail: 'f2: 0 KiB free' } } })).toMatchObject({ kind: 'infra-error', reasons: ['disk-full: f2: 0 KiB free'] });
  });
});
