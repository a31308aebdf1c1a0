import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RUN_FILES } from '../../rundir/layout.js';
import type { RunSummary } from '../types.js';
import type { ReportHost, RunFacts } from './model.js';
import { renderReport } from './page.js';

/** report.html in the run directory, from the summary and the facts the directory holds. */
export function writeHtmlReport(summary: RunSummary & { hosts?: ReportHost[] }): string {
  const file = path.join(summary.runDir, RUN_FILES.report);
  writeFileSync(file, renderReport({ summary, facts: readRunFacts(summary.runDir) }));
  return file;
}

export function readRunFacts(runDir: string): RunFacts {
  const read = (name: string) => {
    const file = path.join(runDir, name);
    return existsSync(file) ? readFileSync(file, 'utf8') : undefined;
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
  writeFileSync(file, `${[bin, ...argv.slice(2)].map(shellWord).join(' ')}\n`);
}

function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
