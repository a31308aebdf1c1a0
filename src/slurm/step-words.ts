/**
 * Pure: the words of one job step, and what its stderr says about how it ended.
 *
 * srun's exit status cannot be trusted to mean the program's: when every task of a
 * step was on a node that failed, srun prints "Node failure" and exits 0. So every
 * program runs inside a fixed wrapper that reports, on stderr, the step it is (for
 * scancel) and then the program's own status, each line tagged with a nonce only this
 * coordinator knows. A step whose end line never came was ended by the cluster, not
 * by its program: an infrastructure fault, never a verdict.
 */

/** A fixed script: nonce is $1, the program's words follow. */
export const STEP_WRAPPER =
  'n=$1; shift; echo "KVMFARM_STEP $n ${SLURM_JOB_ID}.${SLURM_STEP_ID}" >&2; ' +
  '"$@"; s=$?; echo "KVMFARM_END $n $s" >&2; exit $s';

export interface StepTarget {
  jobId: string;
  node: string;
  /** CPUs the step asks for (-c); the farm packs by CPU itself, so steps overlap. */
  cpus: number;
}

/**
 * `srun --overlap`: a step shares the CPUs of the steps already there (the scheduler
 * packs guests by CPU; without it a helper step would queue behind running guests).
 * `--chdir=/`: the coordinator's directory need not exist on a node. `--quiet` keeps
 * srun's progress lines out; its errors still come. Not `--unbuffered`: it gives
 * the program a terminal (tar refuses to write an archive to it, and a terminal may
 * rewrite bytes); srun's default line buffering passes console lines as they end.
 */
export function stepWords(target: StepTarget, nonce: string, words: string[]): string[] {
  return [
    'srun', '--overlap', `--jobid=${target.jobId}`, `--nodelist=${target.node}`, '--nodes=1', '--ntasks=1', `--cpus-per-task=${target.cpus}`,
    '--chdir=/', '--quiet', '--job-name=kvm-farm', '--',
    'sh', '-c', STEP_WRAPPER, 'sh', nonce, ...words,
  ];
}

/** srun's own lines that mean the node, not the program, failed. */
const NODE_FAULTS = [
  /Node failure on/i,
  /NODE_FAIL/,
  /Task launch for .* failed on node/i,
  /Unable to create step/i,
  /Communication connection failure/i,
  /Socket timed out/i,
  /Zero Bytes were transmitted or received/i,
  /step .* cancelled/i,
  /Job step aborted/i,
  /lost connection/i,
];

export type StepLine =
  | { kind: 'step'; stepId: string }
  | { kind: 'end'; status: number }
  | { kind: 'srun'; text: string; nodeFault: boolean }
  | { kind: 'program'; text: string };

/**
 * Sorts one stderr line: the wrapper's own (only with our nonce), srun's, or the
 * program's. The wrapper's line may follow program output that did not end in a
 * newline: then the text before it is the program's (`before`).
 */
export function classifyLine(line: string, nonce: string): StepLine & { before?: string } {
  const at = line.lastIndexOf(`KVMFARM_`);
  if (at >= 0) {
    const mine = line.slice(at).split(' ');
    const before = at > 0 ? { before: line.slice(0, at) } : {};
    if (mine.length === 3 && mine[1] === nonce) {
      if (mine[0] === 'KVMFARM_STEP' && /^\d+\.\d+$/.test(mine[2]!)) return { kind: 'step', stepId: mine[2]!, ...before };
      if (mine[0] === 'KVMFARM_END' && /^\d+$/.test(mine[2]!)) return { kind: 'end', status: Number(mine[2]), ...before };
    }
  }
  if (/^srun: /.test(line) || /^slurmstepd: /.test(line)) return { kind: 'srun', text: line, nodeFault: NODE_FAULTS.some((re) => re.test(line)) };
  return { kind: 'program', text: line };
}
