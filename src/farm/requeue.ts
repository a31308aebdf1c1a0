import type { Verdict } from '../analyze/types.js';
import type { InstanceResult } from '../report/types.js';
import { KvmFarmError } from '../util/errors.js';

/**
 * Bookkeeping for scenario instances caught on a host that vanished: which go
 * back on the queue, which are given up as infra-error (never a kernel failure),
 * and what the lost attempt's partial console is called. Pure: the coordinator
 * keeps the ledger and does the moving of files and the queueing.
 */
export interface Attempt {
  instance: string;
  /** 1 for an instance's first run, 2 for its first rerun, ... */
  attempt: number;
  host: string;
  /** `infra`: ended by a fault of its host (qemu killed, disk full), see infra-fault.ts. */
  outcome: 'running' | 'finished' | 'lost' | 'infra';
}

export interface Requeue {
  instance: string;
  /** Number of the attempt to start next. */
  attempt: number;
  /** The attempt that was lost, and the name its partial console.log moves to in the instance directory. */
  lost: { host: string; attempt: number; console: string };
  /** Hosts this instance was lost on: take another if there is one. */
  avoidHosts: string[];
}

export interface GiveUp {
  instance: string;
  lost: { host: string; attempt: number; console: string };
  /** An infra-error verdict to record instead of judging a console. */
  verdict: Verdict;
}

export interface LossDecision {
  /** The ledger with the lost host's running attempts marked lost; finished ones stay as they were. */
  ledger: Attempt[];
  requeue: Requeue[];
  giveUp: GiveUp[];
}

/** `--retries` default: one rerun after a host loss. */

/** Records a new attempt of `instance` on `host`, numbered after its earlier ones. */
export function startAttempt(ledger: readonly Attempt[], instance: string, host: string): { ledger: Attempt[]; attempt: Attempt } {
  const attempt: Attempt = { instance, host, attempt: nextAttempt(ledger, instance), outcome: 'running' };
  return { ledger: [...ledger, attempt], attempt };
}

export function finishAttempt(ledger: readonly Attempt[], instance: string, attempt: number): Attempt[] {
  return ledger.map((a) => (a.instance === instance && a.attempt === attempt && a.outcome === 'running' ? { ...a, outcome: 'finished' } : a));
}

/**
 * What to do when `host` is lost: every attempt running there is lost; each such
 * instance is requeued while it has been lost at most `retries` times, and given
 * up as infra-error after that.
 */
export function decideAfterHostLoss(ledger: readonly Attempt[], host: string, retries: number): LossDecision {
  const next = ledger.map((a) => (a.host === host && a.outcome === 'running' ? { ...a, outcome: 'lost' as const } : a));
  const requeue: Requeue[] = [];
  const giveUp: GiveUp[] = [];
  for (const lostNow of next.filter((a, i) => a.outcome === 'lost' && ledger[i]!.outcome === 'running')) {
    const losses = next.filter((a) => a.instance === lostNow.instance && a.outcome === 'lost');
    const lost = { host, attempt: lostNow.attempt, console: lostConsoleName(host, lostNow.attempt) };
    if (losses.length <= retries) {
      requeue.push({ instance: lostNow.instance, attempt: nextAttempt(next, lostNow.instance), lost, avoidHosts: unique(losses.map((a) => a.host)) });
    } else {
      giveUp.push({ instance: lostNow.instance, lost, verdict: infraVerdict(lostNow.instance, losses, retries) });
    }
  }
  return { ledger: next, requeue, giveUp };
}

/** `console.log.lost-h2-1`: the partial console of attempt 1, lost with host h2, kept beside the new one. */
export function lostConsoleName(host: string, attempt: number): string {
  // Host names can be user@host:port; keep the file name to characters every tool takes.
  const safe = host.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^\.+/, '_');
  return `console.log.lost-${safe}-${attempt}`;
}

/** `console.log.extra-h2-1`: an attempt that also ran to its end after another was judged first. */
export function extraConsoleName(host: string, attempt: number): string {
  return lostConsoleName(host, attempt).replace('.lost-', '.extra-');
}

/** `rerun after host loss (h2)`, for InstanceResult.warnings. */
export function rerunWarning(lostHosts: readonly string[]): string {
  return `rerun after host loss (${unique(lostHosts).join(', ')})`;
}

/** The result with a warning for each host this instance was lost on and where the partial consoles are. */
export function annotateResult(result: InstanceResult, ledger: readonly Attempt[]): InstanceResult {
  const losses = ledger.filter((a) => a.instance === result.instance && a.outcome === 'lost');
  if (losses.length === 0) return result;
  const warning = result.verdict?.kind === 'infra-error' ? `gave up after host loss (${unique(losses.map((a) => a.host)).join(', ')})` : rerunWarning(losses.map((a) => a.host));
  const kept = `partial console kept as ${losses.map((a) => lostConsoleName(a.host, a.attempt)).join(', ')}`;
  const warnings = [...result.warnings.filter((w) => w !== warning && w !== kept), warning, kept];
  return { ...result, warnings };
}

function infraVerdict(instance: string, losses: readonly Attempt[], retries: number): Verdict {
  const where = losses.map((a) => `${a.host} (attempt ${a.attempt})`).join(', ');
  return {
    instance,
    kind: 'infra-error',
    reasons: [`host lost ${losses.length} times: ${where}; --retries ${retries} used up, so the kernel was never judged`],
    quoted: [],
  };
}

function nextAttempt(ledger: readonly Attempt[], instance: string): number {
  return Math.max(0, ...ledger.filter((a) => a.instance === instance).map((a) => a.attempt)) + 1;
}

function unique(items: readonly string[]): string[] {
  return [...new Set(items)];
}
