/**
 * How fast, and in how little memory, the console analyzer reads big logs. It
 * writes three consoles: a real one (a TREE02C-SMALL console from a kvm-farm run,
 * its lines after the start of the test repeated, with the grace-period count
 * kept rising) of about 200 MB, and two synthetic ones, heavy in statistics and
 * CPU-hotplug lines, of about 50 MB and 200 MB. It analyzes each from disk,
 * first as kvm-farm does by default (worker threads side by side for logs this
 * big), then in one thread. Each analysis runs in a fresh node process, which
 * reports MB/s and its peak RSS: for either way of reading, peak RSS should be
 * about the same for the 50 MB and the 200 MB log, since nothing grows with the log.
 *
 * Run alone: npx tsc -p tsconfig.build.json && node dist/bench/analyze-bench.js
 */
import { once } from 'node:events';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { mkdtemp, open, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { analyzeConsoleFile, defaultAnalyzeThreads } from '../src/analyze/console-file.js';
import type { ConsoleFindings } from '../src/analyze/types.js';
import { SUITES } from '../src/scenarios/suites.js';
import { nodeArgsForModule } from '../src/util/module-worker.js';

export interface AnalyzeBenchRun {
  sizeMb: number;
  threads: number;
  seconds: number;
  mbPerSecond: number;
  /** Highest RSS sampled while this log was analyzed. */
  peakRssMb: number;
  /** RSS just before, so the growth due to the analysis shows. */
  startRssMb: number;
  gracePeriods: number | null;
  warnings: number;
}

/** The logs read one way: the small one once, each large one three times. */
export interface AnalyzeBenchWay {
  threads: number;
  small: AnalyzeBenchRun;
  /** The median of the large synthetic log's readings, with the highest peak RSS of them. */
  large: AnalyzeBenchRun;
  /** The same for the log made from a real console. */
  real: AnalyzeBenchRun;
  readings: { large: AnalyzeBenchRun[]; real: AnalyzeBenchRun[] };
}

export interface AnalyzeBenchResult {
  /** The lower of the two large logs' throughputs, read as kvm-farm reads them by default. */
  mbPerSecond: number;
  /** The highest peak RSS while analyzing the large logs that way. */
  peakRssMb: number;
  byDefault: AnalyzeBenchWay;
  oneThread: AnalyzeBenchWay;
}

const MB = 1024 * 1024;
const MEASURE_FLAG = '--measure-one';

export async function benchAnalyze(options: { smallMb?: number; largeMb?: number } = {}): Promise<AnalyzeBenchResult> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kvm-farm-analyze-bench-'));
  try {
    const logs = { small: path.join(dir, 'small-console.log'), large: path.join(dir, 'large-console.log'), real: path.join(dir, 'real-console.log') };
    await writeConsole(logs.small, (options.smallMb ?? 50) * MB);
    await writeConsole(logs.large, (options.largeMb ?? 200) * MB);
    await writeFromRealConsole(logs.real, (options.largeMb ?? 200) * MB);
    // Every log read with the thread count the default picks for the large one, so the peaks compare.
    const byDefault = await measureWay(logs, defaultAnalyzeThreads((await stat(logs.large)).size));
    const oneThread = await measureWay(logs, 1);
    return {
      mbPerSecond: Math.min(byDefault.large.mbPerSecond, byDefault.real.mbPerSecond),
      peakRssMb: Math.max(byDefault.large.peakRssMb, byDefault.real.peakRssMb),
      byDefault,
      oneThread,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function measureWay(logs: { small: string; large: string; real: string }, threads: number): Promise<AnalyzeBenchWay> {
  const small = await measure(logs.small, threads);
  // The median of three readings of each large log: one reading on a shared machine is noise.
  const threeReadings = async (file: string) => [await measure(file, threads), await measure(file, threads), await measure(file, threads)];
  const readings = { large: await threeReadings(logs.large), real: await threeReadings(logs.real) };
  const median = (runs: AnalyzeBenchRun[]) => ({
    ...[...runs].sort((a, b) => a.mbPerSecond - b.mbPerSecond)[1]!,
    peakRssMb: Math.max(...runs.map((r) => r.peakRssMb)),
  });
  return { threads, small, large: median(readings.large), real: median(readings.real), readings };
}

/**
 * One analysis in a fresh node process, so its peak RSS is its own and not what
 * earlier readings left behind in this one.
 */
async function measure(file: string, threads: number): Promise<AnalyzeBenchRun> {
  const self = fileURLToPath(import.meta.url);
  const child = await execa(process.execPath, [...nodeArgsForModule(self), MEASURE_FLAG, file, String(threads)], { timeout: 10 * 60_000 });
  return JSON.parse(child.stdout.trim().split('\n').at(-1)!) as AnalyzeBenchRun;
}

async function measureHere(file: string, threads: number): Promise<AnalyzeBenchRun> {
  const bytes = (await stat(file)).size;
  const startRss = process.memoryUsage.rss();
  let peak = startRss;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 5);
  const start = performance.now();
  let findings: ConsoleFindings;
  try {
    findings = await analyzeConsoleFile(file, { suite: SUITES.rcu!, token: 'bench42', threads });
  } finally {
    clearInterval(sampler);
  }
  const seconds = (performance.now() - start) / 1000;
  peak = Math.max(peak, process.memoryUsage.rss());
  return {
    sizeMb: round(bytes / MB),
    threads,
    seconds: round(seconds),
    mbPerSecond: round(bytes / MB / seconds),
    peakRssMb: round(peak / MB),
    startRssMb: round(startRss / MB),
    gracePeriods: findings.gracePeriods,
    warnings: findings.counts.warning ?? 0,
  };
}

/** Writes a console of about `size` bytes, 200 stat intervals' worth of lines at a time. */
async function writeConsole(file: string, size: number): Promise<void> {
  let t = 0;
  let ver = 0;
  let intervals = 0;
  await writeRepeated(file, size, {
    head: bootLines(),
    block: () => {
      let block = '';
      for (let i = 0; i < 200; i++) {
        t += 0.25 + (i % 7) * 0.013;
        ver += 90 + (i % 13);
        block += intervalLines(t, ver, i);
        // Roughly one warning per 5,000 intervals, as a noisy driver might print.
        if (++intervals % 5000 === 2500) block += `${ts(t)} WARNING: CPU: 1 PID: 42 at drivers/tty/serial/8250/8250_port.c:1920 serial8250_tx_chars+0x1ac/0x1e0\n`;
      }
      return block;
    },
    end: () => `${ts(t + 1)} rcu-torture:--- End of test: SUCCESS: nreaders=1 nfakewriters=4 stat_interval=15 verbose=1 test_no_idle_hz=1 shuffle_interval=3 stutter=5 irqreader=1 fqs_duration=0\n`,
  });
}

/**
 * Writes `head`, then `block(1)`, `block(2)`, ... until the file holds at least
 * `size` bytes, then `end()`, and syncs it to disk, so the kernel's writeback of
 * the fresh log does not run during a timing.
 */
async function writeRepeated(file: string, size: number, parts: { head: string; block: (round: number) => string; end: () => string }): Promise<void> {
  const out = createWriteStream(file);
  let written = 0;
  const write = async (text: string) => {
    written += text.length;
    if (!out.write(text, 'latin1')) await once(out, 'drain');
  };
  await write(parts.head);
  for (let round = 1; written < size; round++) await write(parts.block(round));
  await write(parts.end());
  out.end();
  await once(out, 'finish');
  const handle = await open(file, 'r+');
  await handle.sync();
  await handle.close();
}

/** A console captured from a real kvm-farm run: TREE02C-SMALL, 30 s under TCG. */
function realConsolePath(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  // bench/ in a checkout, dist/bench/ when compiled.
  const candidates = ['consoles', '../../bench/consoles'].map((d) => path.resolve(here, d, 'TREE02C-SMALL.console.log'));
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new Error(`real console not found: ${candidates[0]}`);
  return found;
}

/**
 * Writes a console of about `size` bytes from a real one: its boot lines once,
 * then its lines from the start of the test to the shutdown over and over, each
 * `ver:` renumbered so the grace-period count keeps rising, then its ending.
 */
async function writeFromRealConsole(file: string, size: number): Promise<void> {
  const lines = readFileSync(realConsolePath(), 'latin1').split('\n');
  const started = lines.findIndex((l) => l.includes('--- Start of test'));
  const stopping = lines.findIndex((l) => l.includes('torture_shutdown task shutting down'));
  if (started < 0 || stopping <= started) throw new Error('the real console has no start of test before its shutdown');
  const body = lines.slice(started + 1, stopping);
  const step = Math.max(...body.map((l) => Number(/ ver: (\d+)/.exec(l)?.[1] ?? 0)));
  await writeRepeated(file, size, {
    head: `${lines.slice(0, started + 1).join('\n')}\n`,
    block: (round) => `${body.map((l) => l.replace(/ ver: \d+/, ` ver: ${round * step}`)).join('\n')}\n`,
    end: () => lines.slice(stopping).join('\n'),
  });
}

function ts(t: number): string {
  return `[${t.toFixed(6).padStart(12)}]`;
}

function bootLines(): string {
  return [
    '[    0.000000] Linux version 6.1.158 (root@host) (gcc (Debian 12.2.0-14) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40) #1 SMP PREEMPT_DYNAMIC Sat Nov 21 19:40:00 UTC 2026',
    '[    0.000000] Command line: console=ttyS0 noapic selinux=0 kvmfarm.token=bench42 rcutorture.shutdown_secs=3600 rcutorture.stat_interval=15',
    '[    1.234567] rcu-torture:--- Start of test: nreaders=1 nfakewriters=4 stat_interval=15 verbose=1 test_no_idle_hz=1',
    '',
  ].join('\n');
}

function intervalLines(t: number, ver: number, i: number): string {
  const s = ts(t);
  const reads = 100000 + ver * 3;
  return (
    `${s} rcu-torture: rtc: 00000000a1b2c3d4 ver: ${ver} tfle: 0 rta: ${ver + 1} rtaf: 0 rtf: ${ver - 9} rtmbe: 0 rtmbkf: 0/${i} rtbe: 0 rtbke: 0 rtbre: 0 rtbf: 0 rtb: 0 nt: ${ver * 7} onoff: ${i}/${i}:${i}/${i} 34,${40 + i}:21,${30 + i} ${i * 50}:${i * 31} (HZ=1000) barrier: ${i}/${i}:0 read-exits: ${16 + i} nocb-toggles: 0:0\n` +
    `${s} rcu-torture: Reader Pipe:  ${reads} ${i * 3} 0 0 0 0 0 0 0 0 0\n` +
    `${s} rcu-torture: Reader Batch:  ${reads - 17} ${i * 3 + 17} 0 0 0 0 0 0 0 0 0\n` +
    `${s} rcu-torture: Free-Block Circulation:  ${ver} ${ver - 1} ${ver - 2} ${ver - 3} ${ver - 4} ${ver - 5} ${ver - 6} ${ver - 7} ${ver - 8} ${ver - 9} 0\n` +
    `${s} rcu-torture: torture_onoff task: offlined ${1 + (i % 3)}\n` +
    `${s} smpboot: CPU ${1 + (i % 3)} is now offline\n` +
    `${s} smpboot: Booting Node 0 Processor ${1 + (i % 3)} APIC 0x${(1 + (i % 3)).toString(16)}\n` +
    `${s} rcu_torture_fwd_prog n_max_cbs: ${ver * 2} n_max_gps: 0 n_cbs: ${reads} n_gps: ${ver % 100}\n` +
    `${s} rcu: rcu_torture_fwd_prog_cr Duration ${i} barrier: ${i + 3} pending ${ver % 1000} n_launders: ${ver * 3} n_launders_sa: ${ver} n_max_gps: 100 n_max_cbs: 50000 cver ${i} gps ${ver % 71}\n`
  );
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url) && process.argv[2] === MEASURE_FLAG) {
  console.log(JSON.stringify(await measureHere(process.argv[3]!, Number(process.argv[4]))));
} else if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const result = await benchAnalyze();
  for (const [way, r] of [['default', result.byDefault], ['one thread', result.oneThread]] as const) {
    const threads = `${r.threads} thread${r.threads === 1 ? '' : 's'}`;
    for (const [name, run] of [['synthetic small', r.small], ['synthetic large', r.large], ['real large', r.real]] as const) {
      console.log(
        `${way} (${threads}), ${name}: ${run.sizeMb} MB in ${run.seconds} s = ${run.mbPerSecond} MB/s, peak RSS ${run.peakRssMb} MB (${run.startRssMb} MB before), ` +
          `${run.gracePeriods} grace periods, ${run.warnings} warnings`,
      );
    }
    for (const [name, runs] of [['synthetic large', r.readings.large], ['real large', r.readings.real]] as const) {
      console.log(`${way} (${threads}), ${name}, three readings: ${runs.map((x) => `${x.mbPerSecond} MB/s`).join(', ')}`);
    }
  }
  console.log(`result: ${result.mbPerSecond} MB/s (the lower large-log median; target 200), peak RSS ${result.peakRssMb} MB`);
}
