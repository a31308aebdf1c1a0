import { localCpus, run } from '../index.js';
import { EXIT, reportError } from './errors.js';
import { kvmRunParser, parseKvmRunArgs, wantsHelp } from './run-args.js';
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
    const { input, allcpus } = await parseKvmRunArgs(argv);
    if (allcpus) input.cpus = localCpus();
    if (input.dryrun) {
      const plan = await run({ ...input, dryrun: input.dryrun });
      // On stderr, so stdout stays kvm.sh's format and can be compared with its --dryrun.
      io.err(plan.scenariosLine);
      io.out(plan.text);
      return EXIT.ok;
    }
    return await runAndReport(io, (signal) => withRunProgress(io, (hooks) => run({ ...input, ...hooks, signal })));
  } catch (error) {
    return reportError('kvm-run', error, io.err);
  }
}
