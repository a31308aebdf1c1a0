import { RUN_FILES } from '../rundir/layout.js';
import { writeInside } from '../rundir/safe-write.js';
import { recordCommandLine, writeHtmlReport } from './html/write-html.js';
import { formatJunit } from './junit.js';
import type { RunSummary } from './types.js';

/** summary.json, junit.xml and report.html in the run directory. */
export function writeReports(summary: RunSummary): void {
  recordCommandLine(summary.runDir);
  writeInside(summary.runDir, RUN_FILES.summary, `${JSON.stringify(summary, null, 2)}\n`);
  writeInside(summary.runDir, RUN_FILES.junit, formatJunit(summary));
  writeHtmlReport(summary);
}
