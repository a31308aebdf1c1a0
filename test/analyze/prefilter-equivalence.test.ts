import { describe, expect, it } from 'vitest';
import { FindingsBuilder, finishFindings } from '../../src/analyze/findings-builder.js';
import type { ConsoleFindings } from '../../src/analyze/types.js';
import { analyze, mixedConsole, rcu, TOKEN, TROUBLE_EXAMPLES } from './fixtures.js';

/**
 * The streaming reader looks only at lines its prefilter picks, and sends lines
 * whose only word is `ver: ` down a short path. Both are shortcuts: fed every
 * line of the log through the full check, the findings must be the same.
 */
function everyLineThroughFullCheck(data: Buffer): ConsoleFindings {
  const builder = new FindingsBuilder();
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
  return finishFindings(builder.findings, data.length, lines.slice(-10), { suite: rcu, token: TOKEN });
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
