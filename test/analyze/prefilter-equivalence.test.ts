import { describe, expect, it } from 'vitest';
import { FindingsBuilder } from '../../src/analyze/findings-builder.js';
import type { ConsoleFindings } from '../../src/analyze/types.js';
import { analyze, boot, HARMLESS, rcu, rcuEnd, rcuStart, rcuStat, text, TOKEN, TROUBLE_EXAMPLES, ts } from './fixtures.js';

/**
 * The streaming reader looks only at lines its prefilter picks, and sends lines
 * whose only word is `ver: ` down a short path. Both are shortcuts: fed every
 * line of the log through the full check, the findings must be the same.
 */
function everyLineThroughFullCheck(data: Buffer): ConsoleFindings {
  const builder = new FindingsBuilder({ suite: rcu, token: TOKEN });
  let start = 0;
  while (start < data.length) {
    let stop = data.indexOf(10, start);
    if (stop < 0) stop = data.length;
    const end = stop > start && data[stop - 1] === 13 ? stop - 1 : stop;
    const [s, e] = [start, end];
    builder.addLine(data.toString('latin1', s, e), s, () => data.toString('utf8', s, e));
    start = stop + 1;
  }
  const lines = data.toString('utf8').split('\n');
  if (lines.at(-1) === '') lines.pop();
  return builder.finish(data.length, lines.slice(-10));
}

/** Every kind of line, alone and riding on a statistics line, with sequence missteps among them. */
function mixedConsole(): Buffer {
  const lines = [...boot(), rcuStart()];
  let ver = 100;
  let t = 15;
  for (const [, example] of TROUBLE_EXAMPLES) {
    lines.push(...rcuStat((t += 15), (ver += 100)), `${ts(t)} ${example}`);
    // A stat line that also holds a trouble word must still be judged for the trouble.
    const [stat = ''] = rcuStat((t += 15), (ver += 100));
    lines.push(`${stat} ${example}`);
  }
  for (const harmless of HARMLESS) lines.push(`${ts((t += 1))} ${harmless}`);
  lines.push(
    `${ts((t += 1))} rcu-torture:torture_onoff task: offlined 2`,
    `${ts((t += 1))} rcu-torture:torture_onoff task: onlined 2`,
    `${ts((t += 1))} rcu-torture: rtc: 0000000000000000 ver: 0 tfle: 0`,
    `${ts((t += 1))} rcu-torture: rtc: (null) ver: 7 tfle: 0`,
    ...rcuStat((t += 15), ver), // no progress: a misstep
    ...rcuStat((t += 15), ver - 50), // backwards
    `${ts((t += 1))} scftorture: scf_invoked_count ver: ${ver + 500} resched: 0`,
    rcuEnd((t += 1)),
  );
  const withNul = Buffer.concat([Buffer.from(text(lines).replaceAll('Reader Batch', 'Reader\r\nBatch')), Buffer.from('ver: \0\0 WARNING:\n')]);
  return withNul;
}

describe('prefilter and statistics shortcut', () => {
  it('find what the full check finds on every line', async () => {
    const data = mixedConsole();
    const expected = everyLineThroughFullCheck(data);
    // The test means something only if the log has every kind and a misstep in it.
    expect(Object.keys(expected.counts).sort()).toEqual(
      [...new Set([...TROUBLE_EXAMPLES.map(([k]) => k), 'nul'])].sort(),
    );
    expect(expected.versionProblem?.kind).toBe('bad-seq');
    for (const chunk of [data.length, 4096, 97]) expect(await analyze(data, { chunk })).toEqual(expected);
  });
});
