import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Journal, readJournal, type JournalStart } from '../../src/farm/journal.js';
import { lockRunDir } from '../../src/farm/run-lock.js';
import { parseBootId, parseGuestEnd } from '../../src/farm/detached-guest.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function runDir(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'kvmfarm-journal-'));
  dirs.push(d);
  return d;
}

const START: JournalStart = {
  runName: 'r1', hosts: [{ name: 'h1', tag: '0123456789abcdef' }], remoteDir: '/tmp/kvm-farm', retries: 1, minHosts: 1, gatherTimeoutMs: 120_000,
  lostGraceMs: 60_000, durationSeconds: 30, shutdownGraceSeconds: 60, bootTimeoutSeconds: 60, suite: 'rcu', sourceRunDir: '/x', accel: 'tcg',
  keepRemote: false, instances: [{ id: 'A', scenario: 'A', cpus: 1 }, { id: 'B', scenario: 'B', cpus: 1 }],
};
const BOOT = '0b1d2c3e-1234-4abc-9def-0123456789ab';

describe('the run journal', () => {
  it('reads back placements, ends, judgements and losses as they were written', () => {
    const dir = runDir();
    const j = new Journal(dir);
    j.write({ t: 'start', ...START });
    j.write({ t: 'batch', number: 1, host: 'h1', instances: ['A', 'B'] });
    j.write({ t: 'placed', instance: 'A', attempt: 1, host: 'h1', token: 'tokA', bootId: BOOT });
    j.write({ t: 'placed', instance: 'B', attempt: 1, host: 'h1', token: 'tokB', bootId: BOOT });
    j.write({ t: 'ended', instance: 'A', attempt: 1, host: 'h1' });
    j.write({ t: 'judged', instance: 'A', attempt: 1, host: 'h1', verdict: 'pass' });
    j.write({ t: 'lost', instance: 'B', attempt: 1, host: 'h1' });
    const state = readJournal(dir);
    expect(state.start).toEqual(START);
    expect(state.batches).toEqual([{ number: 1, host: 'h1', instances: ['A', 'B'] }]);
    expect(state.attempts.map((a) => [a.instance, a.attempt, a.outcome, a.verdict, a.bootId])).toEqual([['A', 1, 'judged', 'pass', BOOT], ['B', 1, 'lost', undefined, BOOT]]);
    expect(state.done).toBe(false);
  });

  it('ignores a torn last line (a kill -9 mid-write) but refuses a bad line anywhere else', () => {
    const dir = runDir();
    const j = new Journal(dir);
    j.write({ t: 'start', ...START });
    const good = readJournalText(dir);
    writeFileSync(path.join(dir, 'journal'), `${good}{"v":1,"t":"plac`);
    expect(readJournal(dir).attempts).toEqual([]);
    writeFileSync(path.join(dir, 'journal'), `${good}{"v":1,"t":"plac\n`);
    expect(() => readJournal(dir)).toThrow(/journal line 2: not JSON/);
  });

  it.each([
    ['an instance not in the run', { t: 'placed', instance: '../../etc', attempt: 1, host: 'h1', token: 't' }, /instance "..\/..\/etc" is not in the run/],
    ['a host not in the run', { t: 'placed', instance: 'A', attempt: 1, host: 'evil', token: 't' }, /host "evil" is not in the run/],
    ['a token that is not a plain word', { t: 'placed', instance: 'A', attempt: 1, host: 'h1', token: '$(reboot)' }, /token is not a plain word/],
    ['a boot_id that is not one', { t: 'placed', instance: 'A', attempt: 1, host: 'h1', token: 't', bootId: 'x; rm -rf /' }, /bootId is not a boot_id/],
    ['an end of an attempt never placed', { t: 'ended', instance: 'A', attempt: 3, host: 'h1' }, /A attempt 3 was never placed/],
    ['a verdict that is not one', { t: 'judged', instance: 'A', attempt: 1, host: 'h1', verdict: 'great' }, /never placed|not a verdict/],
    ['an unknown record', { t: 'format-disk' }, /unknown record "format-disk"/],
    ['a huge attempt number', { t: 'placed', instance: 'A', attempt: 1e9, host: 'h1', token: 't' }, /attempt is not a whole number/],
  ])('refuses %s, naming the line', (_what, record, message) => {
    const dir = runDir();
    const j = new Journal(dir);
    j.write({ t: 'start', ...START });
    writeFileSync(path.join(dir, 'journal'), `${readJournalText(dir)}${JSON.stringify({ v: 1, at: new Date().toISOString(), ...record })}\n`);
    expect(() => readJournal(dir)).toThrow(message);
    expect(() => readJournal(dir)).toThrow(/line 2/);
  });

  it('refuses a start record with a bad tag or instance id, and a directory without a journal', () => {
    const dir = runDir();
    expect(() => readJournal(dir)).toThrow(/has no journal/);
    writeFileSync(path.join(dir, 'journal'), `${JSON.stringify({ v: 1, t: 'start', ...START, hosts: [{ name: 'h1', tag: '; reboot' }] })}\n`);
    expect(() => readJournal(dir)).toThrow(/host tag is not 16 hex digits/);
    writeFileSync(path.join(dir, 'journal'), `${JSON.stringify({ v: 1, t: 'start', ...START, instances: [{ id: '../x', scenario: 'x', cpus: 1 }] })}\n`);
    expect(() => readJournal(dir)).toThrow(/not a plain name/);
  });
});

describe('the run directory lock', () => {
  it('refuses a second coordinator while the first lives, and takes over from a dead one', () => {
    const dir = runDir();
    const release = lockRunDir(dir);
    writeFileSync(path.join(dir, 'coordinator.lock'), `${process.ppid}\n`);
    expect(() => lockRunDir(dir)).toThrow(expect.objectContaining({ code: 'KVMFARM_RUN_LOCKED' }));
    // A pid that cannot be alive: the holder was killed.
    writeFileSync(path.join(dir, 'coordinator.lock'), '2147483646\n');
    const again = lockRunDir(dir);
    again();
    release();
  });
});

describe('what a detached guest leaves behind', () => {
  it('reads qemu status from the last line only, so qemu output cannot forge it', () => {
    expect(parseGuestEnd('qemu: note\n\nkvmfarm-exit 0\n')).toEqual({ status: 0, output: 'qemu: note\n', truncated: false });
    // -nographic leaves terminal codes without a newline at the end of qemu's output.
    expect(parseGuestEnd('\u001b[?7h\nkvmfarm-exit 0\n')).toEqual({ status: 0, output: '\u001b[?7h', truncated: false });
    expect(parseGuestEnd('\nkvmfarm-exit 0\n\nkvmfarm-exit 137\n')).toMatchObject({ status: 137 });
    expect(parseGuestEnd('\nkvmfarm-exit none\n')).toMatchObject({ status: null, truncated: false });
    expect(parseGuestEnd('qemu: cut off mid-')).toMatchObject({ status: null, truncated: true });
    expect(parseGuestEnd('\nkvmfarm-exit 999\n')).toMatchObject({ status: null });
    // A session on a full disk leaves its status file empty: the follower still ended, with no status.
    expect(parseGuestEnd('(qemu) \nkvmfarm-exit \n')).toEqual({ status: null, output: '(qemu) ', truncated: false });
  });

  it('takes a boot_id only in the kernel\'s own format', () => {
    expect(parseBootId(`${BOOT}\n`)).toBe(BOOT);
    expect(parseBootId('pyenv: noise\n' + BOOT)).toBe(BOOT);
    expect(parseBootId('not-a-boot-id')).toBeUndefined();
  });
});

function readJournalText(dir: string): string {
  return readFileSync(path.join(dir, 'journal'), 'utf8');
}
