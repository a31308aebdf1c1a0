import type { VerdictKind } from '../analyze/types.js';
import type { InstanceResult } from './types.js';

export const VERDICT_KINDS: readonly VerdictKind[] = [
  'pass',
  'warn',
  'fail',
  'hung',
  'no-boot',
  'wrong-kernel',
  'build-failed',
  'infra-error',
];

export function countVerdicts(instances: InstanceResult[]): Record<VerdictKind, number> {
  const totals = Object.fromEntries(VERDICT_KINDS.map((k) => [k, 0])) as Record<VerdictKind, number>;
  for (const x of instances) if (x.verdict) totals[x.verdict.kind]++;
  return totals;
}

/**
 * A run passes only when every instance passed (a warning is still not a pass);
 * a --buildonly run when every kernel built.
 */
export function runExitCode(instances: InstanceResult[], interrupted: boolean, buildonly = false): number {
  if (interrupted) return 130;
  const ok = (x: InstanceResult) => (buildonly ? x.verdict === undefined : x.verdict?.kind === 'pass');
  return instances.length > 0 && instances.every(ok) ? 0 : 1;
}
