import { prepareRun, localCpus } from '../run/prepare.js';
import { formatBatches, formatScenarios, formatSchedule } from '../run/dryrun.js';
import { allBatches } from '../plan/plan.js';
import { EXIT, reportError } from './errors.js';
import { kvmRunParser, parseKvmRunArgs, wantsHelp } from './run-args.js';
import { describeScript } from '../run/script.js';
import { runKvm } from '../run/kvm-run.js';
import { runAndReport, stdio, type Io } from './io.js';
import { withRunProgress } from './run-progress.js';

export type { Io } from './io.js';

/** kvm-run: build one kernel per scenario, boot each in qemu for the duration, judge the consoles. */
export async function main(argv: string[], io: Io = stdio): Promise<number> {
  try {
    if (wantsHelp(argv)) {
      io.out(await kvmRunParser([]).getHelp());
      return EXIT.ok;
    }
    const { options, dryrun, allcpus } = await parseKvmRunArgs(argv);
    if (allcpus) options.cpus = localCpus();
    if (dryrun) {
      const prepared = prepareRun(options);
      const batches = allBatches(prepared.plan);
      if (dryrun === 'batches') io.out(formatBatches(batches));
      else if (dryrun === 'scenarios') io.out(formatScenarios(batches));
      else if (dryrun === 'sched') io.out(formatSchedule(batches, prepared.cpus));
      else io.out(describeScript(prepared, options));
      return EXIT.ok;
    }
    return await runAndReport(io, (signal) => withRunProgress(io, (hooks) => runKvm({ ...options, ...hooks, signal })));
  } catch (error) {
    return reportError('kvm-run', error, io.err);
  }
}
