export type VerdictKind =
  | 'pass'
  | 'fail'
  | 'warn'
  | 'build-failed'
  | 'no-boot'
  | 'wrong-kernel'
  | 'hung'
  | 'infra-error';

/** The judgement of one scenario instance. */
export interface Verdict {
  instance: string;
  kind: VerdictKind;
  /** Short reasons, one line each (`3 "!!!" lines`, `Call Trace x2`). */
  reasons: string[];
  /** Console lines that made it fail or warn, at most 20. */
  quoted: string[];
  /** Grace periods completed, where the suite reports them. */
  gracePeriods?: number;
  /** Grace periods per second over the test duration. */
  gracePeriodRate?: number;
}
