import { describe, expect, it } from 'vitest';
import { chooseAccel, probeGuestArgs, type ProbeGuestRunner } from '../../src/qemu/probe-accel.js';
import type { Accel } from '../../src/qemu/types.js';

/** A probe guest runner from fixed outcomes, recording the limit each guest was given. */
function runner(outcomes: Record<Accel, { ok: boolean; ms: number; why?: string }>, limits: Partial<Record<Accel, number>>): ProbeGuestRunner {
  return async (accel, limitMs) => {
    limits[accel] = limitMs;
    return { why: '', ...outcomes[accel] };
  };
}

describe('chooseAccel (the one KVM rule, local and remote)', () => {
  it('takes kvm when it beats twice the tcg yardstick, within the floor and the cap', async () => {
    const limits: Partial<Record<Accel, number>> = {};
    const choice = await chooseAccel('auto', runner({ tcg: { ok: true, ms: 800 }, kvm: { ok: true, ms: 50 } }, limits));
    expect(choice).toEqual({ accel: 'kvm', usable: true, reason: 'kvm probe guest ran in 0.05 s (tcg: 0.80 s)' });
    expect(limits).toEqual({ tcg: 3000, kvm: 1600 });
    await chooseAccel('kvm', runner({ tcg: { ok: true, ms: 100 }, kvm: { ok: true, ms: 50 } }, limits));
    expect(limits.kvm).toBe(1000);
    await chooseAccel('kvm', runner({ tcg: { ok: true, ms: 2900 }, kvm: { ok: true, ms: 50 } }, limits));
    expect(limits.kvm).toBe(3000);
  });

  it('a crawling kvm: auto falls back to a usable tcg, a forced kvm is unusable', async () => {
    const slow = { tcg: { ok: true, ms: 500 }, kvm: { ok: false, ms: 1000, why: 'did not finish within 1.00 s' } };
    expect(await chooseAccel('auto', runner(slow, {}))).toEqual({
      accel: 'tcg', usable: true, reason: 'the kvm probe guest did not finish within 1.00 s (tcg ran it in 0.50 s); using tcg',
    });
    expect(await chooseAccel('kvm', runner(slow, {}))).toEqual({
      accel: 'kvm', usable: false, reason: 'kvm requested, but the kvm probe guest did not finish within 1.00 s (tcg ran it in 0.50 s)',
    });
  });

  it('no yardstick, no answer; tcg requested runs no guest', async () => {
    const broken = { tcg: { ok: false, ms: 10, why: 'exited with 1' }, kvm: { ok: true, ms: 10 } };
    expect(await chooseAccel('auto', runner(broken, {}))).toMatchObject({ accel: 'tcg', usable: false });
    const limits: Partial<Record<Accel, number>> = {};
    expect(await chooseAccel('tcg', runner(broken, limits))).toEqual({ accel: 'tcg', usable: true, reason: 'tcg requested' });
    expect(limits).toEqual({});
  });

  it('builds the probe guest words with the serial port where the verdict should go', () => {
    const words = probeGuestArgs('kvm', '/tmp/p.img', 'stdio');
    expect(words.slice(0, 6)).toEqual(['-accel', 'kvm', '-machine', 'q35', '-cpu', 'host']);
    expect(words.slice(-4)).toEqual(['-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04', '-kernel', '/tmp/p.img']);
    expect(words[words.indexOf('-serial') + 1]).toBe('stdio');
  });
});
