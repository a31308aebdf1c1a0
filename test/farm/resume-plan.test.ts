import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Journal, readJournal, type JournalStart } from '../../src/farm/journal.js';
import { planResume } from '../../src/farm/resume.js';
import { formatQemuCmdFile } from '../../src/qemu/index.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const BOOT = '0b1d2c3e-1234-4abc-9def-0123456789ab';
const IDS = ['A', 'B', 'C', 'D', 'E'];

/** A run directory as kvm-remote leaves it when its coordinator dies: kernels, qemu-cmd files, a journal. */
function deadRun(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kvmfarm-resume-'));
  dirs.push(dir);
  for (const id of IDS) {
    mkdirSync(path.join(dir, id));
    writeFileSync(path.join(dir, id, 'bzImage'), 'kernel');
    writeFileSync(path.join(dir, id, 'qemu-cmd'), formatQemuCmdFile({
      argv: ['qemu-system-x86_64', '-kernel', path.join(dir, id, 'bzImage'), '-serial', `file:${path.join(dir, id, 'console.log')}`, '-append', 'console=ttyS0 kvmfarm.token=t0'],
      settings: { KVMFARM_TOKEN: 't0', KVMFARM_ACCEL: 'tcg', seconds: '30' },
    }));
  }
  const start: JournalStart = {
    runName: path.basename(dir), hosts: [{ name: 'h1', tag: '0123456789abcdef' }, { name: 'h2', tag: 'fedcba9876543210' }], remoteDir: '/tmp/kvm-farm', retries: 1,
    minHosts: 2, gatherTimeoutMs: 120_000, lostGraceMs: 60_000, durationSeconds: 30, shutdownGraceSeconds: 60, bootTimeoutSeconds: 60, suite: 'rcu',
    sourceRunDir: '/x', accel: 'tcg', keepRemote: false, instances: IDS.map((id) => ({ id, scenario: id, cpus: 1 })),
  };
  const j = new Journal(dir);
  j.write({ t: 'start', ...start });
  j.write({ t: 'batch', number: 1, host: 'h1', instances: ['A'] });
  j.write({ t: 'placed', instance: 'A', attempt: 1, host: 'h1', token: 'tokA', bootId: BOOT });
  j.write({ t: 'batch', number: 2, host: 'h2', instances: ['B', 'C'] });
  j.write({ t: 'placed', instance: 'B', attempt: 1, host: 'h2', token: 'tokB', bootId: BOOT });
  j.write({ t: 'placed', instance: 'C', attempt: 1, host: 'h2', token: 'tokC', bootId: BOOT });
  j.write({ t: 'ended', instance: 'A', attempt: 1, host: 'h1' });
  j.write({ t: 'judged', instance: 'A', attempt: 1, host: 'h1', verdict: 'pass' });
  writeFileSync(path.join(dir, 'A', 'verdict.json'), JSON.stringify({ instance: 'A', kind: 'pass', reasons: [], quoted: [] }));
  j.write({ t: 'lost', instance: 'C', attempt: 1, host: 'h2' });
  j.write({ t: 'batch', number: 3, host: 'h1', instances: ['C', 'D'] });
  j.write({ t: 'placed', instance: 'C', attempt: 2, host: 'h1', token: 'tokC2', bootId: BOOT });
  j.write({ t: 'placed', instance: 'D', attempt: 1, host: 'h1', token: 'tokD', bootId: BOOT });
  j.write({ t: 'ended', instance: 'D', attempt: 1, host: 'h1' });
  return dir;
}

describe('what a resumed run does, planned from the journal', () => {
  it('keeps what was judged, follows what was placed and not judged, runs only what never ran', () => {
    const dir = deadRun();
    const plan = planResume(dir, readJournal(dir));
    expect(plan.judgedBefore).toEqual(['A']);
    expect(plan.results.get('A')).toMatchObject({ host: 'h1', verdict: { kind: 'pass' } });
    // B running, C's second attempt running, D ended but not judged: followed where they are, with their tokens.
    expect(plan.seed.follow.map((a) => [a.instance, a.attempt, a.host, a.token]).sort()).toEqual([['B', 1, 'h2', 'tokB'], ['C', 2, 'h1', 'tokC2'], ['D', 1, 'h1', 'tokD']]);
    expect(plan.queue.map((x) => x.id)).toEqual(['E']);
    // C's lost first attempt still counts against --retries.
    expect(plan.seed.ledger.filter((a) => a.instance === 'C').map((a) => [a.attempt, a.outcome])).toEqual([[1, 'lost'], [2, 'running']]);
    expect(plan.seed.batches.map((b) => b.number)).toEqual([1, 2, 3]);
    expect(plan.results.get('D')!.batch).toBe(3);
  });

  it('refuses a verdict.json that disagrees with the journal, and a qemu-cmd whose kernel is outside the run', () => {
    const dir = deadRun();
    writeFileSync(path.join(dir, 'A', 'verdict.json'), JSON.stringify({ instance: 'A', kind: 'fail', reasons: [], quoted: [] }));
    expect(() => planResume(dir, readJournal(dir))).toThrow(/does not hold the pass verdict the journal records/);
    const other = deadRun();
    writeFileSync(path.join(other, 'E', 'qemu-cmd'), formatQemuCmdFile({
      argv: ['qemu-system-x86_64', '-kernel', '/etc/shadow', '-serial', `file:${path.join(other, 'E', 'console.log')}`, '-append', 'x'], settings: {},
    }));
    expect(() => planResume(other, readJournal(other))).toThrow(/has no kernel shadow inside the run directory/);
  });

  it('refuses a run whose coordinator stopped while a kernel was still being built: that instance has no qemu-cmd yet', () => {
    const dir = deadRun();
    rmSync(path.join(dir, 'E', 'qemu-cmd'));
    expect(() => planResume(dir, readJournal(dir))).toThrow(/E\/qemu-cmd is missing \(the coordinator stopped before that kernel was built.*run it again, kernels already built come from the cache/);
  });
});
