import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RUN_FILES } from '../../rundir/layout.js';
import { readTextInside } from '../../rundir/safe-read.js';
import { writeInside } from '../../rundir/safe-write.js';
import type { RunSummary } from '../types.js';
import type { ReportHost, RunFacts } from './model.js';
import { renderReport } from './page.js';

/** testid.txt holds a git diff, which can be large; past this it is left out of the report. */
const FACT_FILE_BYTES = 64 * 1024 * 1024;

/** report.html in the run directory, from the summary and the facts the directory holds. */
export function writeHtmlReport(summary: RunSummary & { hosts?: ReportHost[] }): string {
  const file = path.join(summary.runDir, RUN_FILES.report);
  writeInside(summary.runDir, RUN_FILES.report, renderReport({ summary, facts: readRunFacts(summary.runDir) }));
  return file;
}

export function readRunFacts(runDir: string): RunFacts {
  // The run directory's files may be anything (kvm-recheck reads runs from elsewhere): the safe-open
  // rule, and a fact that cannot be read safely is left out rather than stopping the report.
  const read = (name: string) => {
    try {
      return readTextInside(runDir, name, FACT_FILE_BYTES);
    } catch {
      return undefined;
    }
  };
  const testid = read(RUN_FILES.testid) ?? '';
  const tree = /^Build directory: (.*)$/m.exec(testid)?.[1];
  const commit = /^Current commit: (.*)$/m.exec(testid)?.[1];
  const command = read(RUN_FILES.command)?.trim();
  return {
    ...(command ? { commandLine: command } : {}),
    ...(tree ? { kernelTree: tree } : {}),
    ...(commit ? { commit } : {}),
    localCpus: os.cpus().length,
    generatedAt: new Date().toISOString(),
  };
}

/**
 * Writes the `command` file once, from this process's arguments, when the process is
 * one of the run commands (a library call from a test has no command line worth keeping).
 */
export function recordCommandLine(runDir: string, argv: readonly string[] = process.argv): void {
  const file = path.join(runDir, RUN_FILES.command);
  const bin = path.basename(argv[1] ?? '');
  if (existsSync(file) || !/^kvm-(run|again|remote)(\.[jt]s)?$/.test(bin)) return;
  writeInside(runDir, RUN_FILES.command, `${[bin, ...argv.slice(2)].map(shellWord).join(' ')}\n`);
}

function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
