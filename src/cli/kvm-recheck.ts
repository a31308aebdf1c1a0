import { formatTitleGroups, groupTitles } from '../report/title-groups.js';
import type { RunSummary } from '../report/types.js';
import { recheck } from '../index.js';
import { EXIT, reportError, usageError } from './errors.js';
import { stdio, type Io } from './io.js';
import { printSummary } from './print-summary.js';

/** kvm-recheck RUNDIR...: judge finished runs again from their console logs. */
export async function main(argv: string[], io: Io = stdio): Promise<number> {
  try {
    if (argv.includes('--help') || argv.includes('-h')) {
      io.out('kvm-recheck RUNDIR [RUNDIR...]: judge finished runs again from their console logs');
      return EXIT.ok;
    }
    if (argv.length === 0 || argv.some((a) => a.startsWith('-'))) {
      throw usageError(argv.length === 0 ? 'usage: kvm-recheck RUNDIR [RUNDIR...]' : `unknown option "${argv.find((a) => a.startsWith('-'))}"; usage: kvm-recheck RUNDIR [RUNDIR...]`);
    }
    let status: number = EXIT.ok;
    const summaries: RunSummary[] = [];
    for (const dir of argv) {
      // One run at a time, so each run's lines print as soon as it is judged.
      const [summary] = await recheck(dir);
      if (!summary) continue;
      summaries.push(summary);
      printSummary(summary, io.out);
      status = Math.max(status, summary.exitCode === EXIT.interrupted ? EXIT.failures : summary.exitCode);
    }
    for (const line of formatTitleGroups(groupTitles(summaries), summaries.length)) io.out(line);
    return status;
  } catch (error) {
    return reportError('kvm-recheck', error, io.err);
  }
}
