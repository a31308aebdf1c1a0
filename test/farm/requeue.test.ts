import { describe, expect, it } from 'vitest';
import {
  annotateResult, decideAfterHostLoss, finishAttempt, lostConsoleName, rerunWarning, startAttempt, type Attempt,
} from '../../src/farm/requeue.js';
import type { InstanceResult } from '../../src/report/types.js';

function run(...steps: Array<[string, string]>): Attempt[] {
  let ledger: Attempt[] = [];
  for (const [instance, host] of steps) ledger = startAttempt(ledger, instance, host).ledger;
  return ledger;
}

describe('decideAfterHostLoss', () => {
  it('requeues what was running on the lost host and leaves finished results and other hosts alone', () => {
    let ledger = run(['TREE01', 'h1'], ['TREE02', 'h2'], ['TREE03', 'h2'], ['TREE04', 'h2']);
    ledger = finishAttempt(ledger, 'TREE04', 1);
    const d = decideAfterHostLoss(ledger, 'h2', 1);
    expect(d.requeue).toEqual([
      { instance: 'TREE02', attempt: 2, lost: { host: 'h2', attempt: 1, console: 'console.log.lost-h2-1' }, avoidHosts: ['h2'] },
      { instance: 'TREE03', attempt: 2, lost: { host: 'h2', attempt: 1, console: 'console.log.lost-h2-1' }, avoidHosts: ['h2'] },
    ]);
    expect(d.giveUp).toEqual([]);
    expect(d.ledger.map((a) => `${a.instance}@${a.host}:${a.outcome}`)).toEqual(['TREE01@h1:running', 'TREE02@h2:lost', 'TREE03@h2:lost', 'TREE04@h2:finished']);
    // Pure: the caller's ledger is untouched.
    expect(ledger[1]!.outcome).toBe('running');
  });

  it('gives up as infra-error once the retries are used up, never as a kernel failure', () => {
    let ledger = run(['TREE02', 'h2']);
    let d = decideAfterHostLoss(ledger, 'h2', 1);
    expect(d.requeue.map((r) => r.attempt)).toEqual([2]);
    ledger = startAttempt(d.ledger, 'TREE02', 'h3').ledger;
    d = decideAfterHostLoss(ledger, 'h3', 1);
    expect(d.requeue).toEqual([]);
    expect(d.giveUp).toEqual([{
      instance: 'TREE02',
      lost: { host: 'h3', attempt: 2, console: 'console.log.lost-h3-2' },
      verdict: {
        instance: 'TREE02',
        kind: 'infra-error',
        reasons: ['host lost 2 times: h2 (attempt 1), h3 (attempt 2); --retries 1 used up, so the kernel was never judged'],
        quoted: [],
      },
    }]);
  });

  it('with --retries 0 gives up at the first loss; with 2 avoids both lost hosts', () => {
    expect(decideAfterHostLoss(run(['A', 'h1']), 'h1', 0).giveUp.map((g) => g.instance)).toEqual(['A']);
    let ledger = decideAfterHostLoss(run(['A', 'h1']), 'h1', 2).ledger;
    ledger = startAttempt(ledger, 'A', 'h2').ledger;
    const d = decideAfterHostLoss(ledger, 'h2', 2);
    expect(d.requeue).toEqual([{ instance: 'A', attempt: 3, lost: { host: 'h2', attempt: 2, console: 'console.log.lost-h2-2' }, avoidHosts: ['h1', 'h2'] }]);
  });

  it('a second loss of the same host later only touches what runs there then', () => {
    let ledger = run(['A', 'h1']);
    ledger = decideAfterHostLoss(ledger, 'h1', 3).ledger;
    ledger = startAttempt(ledger, 'A', 'h1').ledger;
    ledger = startAttempt(ledger, 'B', 'h1').ledger;
    const d = decideAfterHostLoss(ledger, 'h1', 3);
    expect(d.requeue.map((r) => [r.instance, r.attempt, r.lost.console])).toEqual([['A', 3, 'console.log.lost-h1-2'], ['B', 2, 'console.log.lost-h1-1']]);
  });
});

describe('names and warnings', () => {
  it('makes a file name out of any host spelling', () => {
    expect(lostConsoleName('h2', 1)).toBe('console.log.lost-h2-1');
    expect(lostConsoleName('root@10.0.0.2:2222', 3)).toBe('console.log.lost-root_10.0.0.2_2222-3');
    // No slash survives, so the name stays in the instance directory.
    expect(lostConsoleName('../../etc', 1)).toBe('console.log.lost-__.._etc-1');
    expect(lostConsoleName('a/b c;$(x)', 1)).not.toMatch(/[/ ;$()]/);
    expect(rerunWarning(['h2', 'h2', 'h3'])).toBe('rerun after host loss (h2, h3)');
  });

  it('annotates a rerun result once, and a given-up one differently', () => {
    const base: InstanceResult = { instance: 'TREE02', scenario: 'TREE02', batch: 1, cpus: 2, kernel: { source: 'built', configMismatches: [] }, warnings: ['CPU count limited'] };
    const ledger = decideAfterHostLoss(run(['TREE02', 'h2'], ['TREE01', 'h1']), 'h2', 1).ledger;
    const once = annotateResult(base, ledger);
    expect(once.warnings).toEqual(['CPU count limited', 'rerun after host loss (h2)', 'partial console kept as console.log.lost-h2-1']);
    expect(annotateResult(once, ledger).warnings).toEqual(once.warnings);
    expect(base.warnings).toEqual(['CPU count limited']);
    const gaveUp = annotateResult({ ...base, verdict: { instance: 'TREE02', kind: 'infra-error', reasons: [], quoted: [] } }, ledger);
    expect(gaveUp.warnings[1]).toBe('gave up after host loss (h2)');
    const untouched = { ...base, instance: 'TREE01', scenario: 'TREE01' };
    expect(annotateResult(untouched, ledger)).toBe(untouched);
  });
});
