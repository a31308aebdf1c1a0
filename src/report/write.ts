import { RUN_FILES } from '../rundir/layout.js';
import { writeInside } from '../rundir/safe-write.js';
import { formatJunit } from './junit.js';
import type { RunSummary } from './types.js';

/** summary.json and junit.xml in the run directory. */
export function writeReports(summary: RunSummary): void {
  writeInside(summary.runDir, RUN_FILES.summary, `${JSON.stringify(summary, null, 2)}\n`);
  writeInside(summary.runDir, RUN_FILES.junit, formatJunit(summary));
}
