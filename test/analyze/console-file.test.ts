import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeConsole, finishStretches, readStretch } from '../../src/analyze/analyze-console.js';
import { analyzeConsoleFile } from '../../src/analyze/console-file.js';
import type { AnalyzeOptions } from '../../src/analyze/types.js';
import { chunked, cleanRcu, mixedConsole, rcu, text, TOKEN } from './fixtures.js';

const options: AnalyzeOptions = { suite: rcu, token: TOKEN };

function lineEnds(data: Buffer): number[] {
  const ends: number[] = [];
  for (let i = data.indexOf(10); i >= 0; i = data.indexOf(10, i + 1)) ends.push(i + 1);
  return ends.filter((e) => e < data.length);
}

/** The log read as separate stretches cut at `cuts`, then joined. */
async function readInStretches(data: Buffer, cuts: number[]) {
  const bounds = [0, ...cuts, data.length];
  const stretches = [];
  for (let i = 0; i + 1 < bounds.length; i++) {
    stretches.push(await readStretch(chunked(data.subarray(bounds[i], bounds[i + 1]), 4096), bounds[i]!));
  }
  return finishStretches(stretches, options);
}

describe('joining stretches read apart', () => {
  const logs: [string, Buffer][] = [
    ['every kind of line, two missteps, more warnings than are quoted', mixedConsole()],
    ['a count that never left zero', Buffer.from(text(cleanRcu([0, 0, 0])))],
    ['a count that stopped', Buffer.from(text(cleanRcu([5, 10, 10, 10])))],
    ['a count that went back', Buffer.from(text(cleanRcu([5, 10, 7, 12])))],
  ];

  it.each(logs)('gives what one reader finds, cut in two at every line: %s', async (_, data) => {
    const whole = await analyzeConsole(chunked(data, 4096), options);
    for (const cut of lineEnds(data)) expect(await readInStretches(data, [cut])).toEqual(whole);
  });

  it('gives what one reader finds, cut in three and in many', async () => {
    const data = mixedConsole();
    const whole = await analyzeConsole(chunked(data, 4096), options);
    const ends = lineEnds(data);
    for (let i = 0; i < ends.length; i += 7) {
      for (let j = i + 1; j < ends.length; j += 11) expect(await readInStretches(data, [ends[i]!, ends[j]!])).toEqual(whole);
    }
    expect(await readInStretches(data, ends.filter((_, i) => i % 3 === 0))).toEqual(whole);
  });
});

describe('analyzeConsoleFile', () => {
  let dir: string;
  let file: string;
  let data: Buffer;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'kvm-farm-console-file-'));
    file = path.join(dir, 'console.log');
    // Big enough for several 64 KiB line searches, small enough to stay quick.
    data = Buffer.concat(Array.from({ length: 40 }, () => mixedConsole()));
    await writeFile(file, data);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('finds the same with worker threads reading stretches as in this thread', async () => {
    const one = await analyzeConsoleFile(file, { ...options, threads: 1 });
    expect(one).toEqual(await analyzeConsole(chunked(data, 65536), options));
    expect(one.counts.warning).toBeGreaterThan(1000);
    for (const threads of [2, 3, 7]) expect(await analyzeConsoleFile(file, { ...options, threads })).toEqual(one);
  });

  it('refuses a thread count that is not a whole number of at least 1', async () => {
    await expect(analyzeConsoleFile(file, { ...options, threads: 0 })).rejects.toThrow(/threads .* not 0/);
    await expect(analyzeConsoleFile(file, { ...options, threads: 1.5 })).rejects.toThrow(/not 1.5/);
  });

  it('names a missing file', async () => {
    await expect(analyzeConsoleFile(path.join(dir, 'nope.log'), options)).rejects.toThrow(/nope\.log/);
  });
});
