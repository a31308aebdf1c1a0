import path from 'node:path';

/**
 * File names inside a run directory. They match rcutorture's wherever it has
 * one, so the kernel's own kvm-recheck.sh and kvm-find-errors.sh read our runs.
 */
export const RUN_FILES = {
  log: 'log',
  tortureSuite: 'torture_suite',
  scenarios: 'scenarios',
  batches: 'batches',
  testid: 'testid.txt',
  stop: 'STOP',
  rcutortureStop: 'STOP.1',
  interrupted: 'interrupted',
  reRun: 're-run',
  accel: 'accel',
  summary: 'summary.json',
  junit: 'junit.xml',
  /** The self-contained HTML report. */
  report: 'report.html',
  /** The command line the run was started with. */
  command: 'command',
  buildonly: 'buildonly',
} as const;

export const INSTANCE_FILES = {
  consoleLog: 'console.log',
  diags: 'console.log.diags',
  qemuCmd: 'qemu-cmd',
  qemuRetval: 'qemu-retval',
  qemuOutput: 'qemu-output',
  warnings: 'Warnings',
  configFragment: 'ConfigFragment',
  /** Marks a scenario directory for the kernel's kvm-recheck.sh. */
  makeDefconfigOut: 'Make.defconfig.out',
  makeOut: 'Make.out',
  dotConfig: '.config',
  bzImage: 'bzImage',
  vmlinux: 'vmlinux',
  systemMap: 'System.map',
  builtKernel: 'builtkernel',
  buildonly: 'buildonly',
  verdict: 'verdict.json',
  /** The guest's run record (exit, signal, hung, token), which kvm-recheck judges again. */
  guest: 'guest.json',
} as const;

/** `res/2026.11.21-10.52.56`: sortable, and the name kvm.sh gives a run. */
export function datestamp(date: Date = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return (
    `${date.getFullYear()}.${p(date.getMonth() + 1)}.${p(date.getDate())}-` +
    `${p(date.getHours())}.${p(date.getMinutes())}.${p(date.getSeconds())}`
  );
}

export function instanceDir(runDir: string, instanceId: string): string {
  return path.join(runDir, instanceId);
}
