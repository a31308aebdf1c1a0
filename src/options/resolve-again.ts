import type { AgainOptions } from '../again/again.js';
import { LINK_MODES, type LinkMode } from '../again/link.js';
import { ACCEL_REQUESTS, DEFAULTS, type AccelRequest } from './defaults.js';
import { checkNumber } from './limits.js';
import { oneOf } from './resolve-run.js';
import { checkResultsDir } from './run-dir-names.js';

/** What a caller gives `again()`: the earlier run directory and any subset of the rest. */
export type AgainInput = Partial<AgainOptions> & { runDir: string };

/**
 * Fills kvm-again's defaults and checks its values once. Duration and grace stay
 * absent when not given: the earlier run's recorded values are their defaults.
 */
export function resolveAgainOptions(input: AgainInput): AgainOptions {
  const resolved: AgainOptions = {
    ...input,
    link: oneOf<LinkMode>('--link', input.link ?? DEFAULTS.link, LINK_MODES),
    accel: oneOf<AccelRequest>('--accel', input.accel ?? DEFAULTS.accel, ACCEL_REQUESTS),
    bootTimeoutSeconds: checkNumber('bootTimeoutSeconds', '--boot-timeout', input.bootTimeoutSeconds ?? DEFAULTS.bootTimeoutSeconds),
    bootArgs: input.bootArgs ?? [],
    failed: input.failed ?? false,
    dryrun: input.dryrun ?? false,
  };
  if (input.durationSeconds !== undefined) checkNumber('durationSeconds', '--duration', input.durationSeconds);
  if (input.shutdownGraceSeconds !== undefined) checkNumber('shutdownGraceSeconds', '--shutdown-grace', input.shutdownGraceSeconds);
  if (input.cpus !== undefined) checkNumber('cpus', '--cpus', input.cpus);
  if (input.results !== undefined) checkResultsDir(input.results);
  return resolved;
}
