/** What a kernel build's output says went wrong, picked out as rcutorture's scripts do. */
export interface BuildProblems {
  /** Lines that make a build fail: compiler and linker errors, make's own `Error N` and `Stop.` lines, and the line that explains each make error. */
  errors: string[];
  /** Warnings in RCU code (include/linux/*rcu*.h, kernel/rcu/) and the first undefined-reference warning: rcutorture fails a build on these. */
  rcuWarnings: string[];
  /** Number of `warning:` lines in all. */
  warningCount: number;
}

/** At most this many lines are quoted when a build fails. */
export const MAX_QUOTED = 20;

const ERROR = /error:|\bError \d+|\bStop\.|undefined reference to/;
const MAKE_ERROR = /^make(\[\d+\])?: \*\*\* /;
const KBUILD_PROGRESS = /^ {2}[A-Z0-9_]+ +\S/;
const EXPLAIN_WINDOW = 5;
const MAKE_CHATTER = /^make(\[\d+\])?: (\*\*\* |Entering directory|Leaving directory|Nothing to be done)/;

/**
 * Picks the error and warning lines from Make.out, as kvm-build.sh and parse-build.sh
 * grep for them. For a make error that no compiler message explains (a recipe that
 * printed its reason and exited 1), the nearest line before it that is not build
 * progress is kept too: it is usually the reason.
 */
export function pickBuildProblems(makeOut: string): BuildProblems {
  const lines = makeOut.split('\n');
  const picked = new Set<number>();
  lines.forEach((line, i) => {
    if (!ERROR.test(line)) return;
    picked.add(i);
    if (!MAKE_ERROR.test(line)) return;
    // With -jN other jobs' progress lines can land between a recipe's message and make's
    // error line: look a few lines back, past progress and make's own chatter.
    for (let j = i - 1; j >= Math.max(0, i - EXPLAIN_WINDOW); j--) {
      const before = lines[j]!;
      if (before.trim() === '' || KBUILD_PROGRESS.test(before) || MAKE_CHATTER.test(before)) continue;
      picked.add(j);
      break;
    }
  });
  const errors = [...picked].sort((a, b) => a - b).map((i) => lines[i]!);
  const warnings = lines.filter((line) => line.includes('warning:'));
  const rcuWarnings = [
    ...warnings.filter((line) => /include\/linux\/[^/]*rcu[^/]*\.h:/.test(line)),
    ...warnings.filter((line) => /kernel\/rcu\/[^/]*:/.test(line)),
    ...warnings.filter((line) => /^ld: .*undefined reference to/.test(line)).slice(0, 1),
  ];
  return { errors: unique(errors), rcuWarnings: unique(rcuWarnings), warningCount: warnings.length };
}

/**
 * Whether a build failed: make's exit status, or (as kvm-build.sh judges it) error lines
 * or RCU warnings in an output whose exit status was 0. Returns the lines to quote.
 */
export function judgeBuild(exitCode: number | undefined, problems: BuildProblems): { failed: boolean; quoted: string[] } {
  const failed = exitCode !== 0 || problems.errors.length > 0 || problems.rcuWarnings.length > 0;
  const quoted = [...problems.errors, ...problems.rcuWarnings].slice(0, MAX_QUOTED);
  return { failed, quoted };
}

function unique(lines: string[]): string[] {
  return [...new Set(lines)];
}
