import { Readable } from 'node:stream';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeConsole } from '../../src/analyze/analyze-console.js';
import { analyzeConsoleFile } from '../../src/analyze/console-file.js';
import { analyze, boot, cleanRcu, lock, rcu, rcuEnd, rcuStart, rcuStat, scf, text, TOKEN, ts } from './fixtures.js';

describe('analyzeConsole', () => {
  it('reads a clean rcutorture console', async () => {
    const f = await analyze(text(cleanRcu([715, 1430, 2145])));
    expect(f).toMatchObject({
      suite: 'rcu',
      linuxVersion: '6.1.158',
      tokenFound: true,
      testStarted: true,
      endOfTest: 'SUCCESS',
      statLines: 3,
      lastVersion: 2145,
      gracePeriods: 2145,
      versionProblem: null,
      counts: {},
      lastBang: null,
    });
    expect(f.commandLine).toContain(`kvmfarm.token=${TOKEN}`);
    expect(f.tail.at(-1)).toContain('reboot: Power down');
  });

  it('finds the same in 1-byte chunks as in one chunk', async () => {
    const lines = cleanRcu([10, 20]);
    lines.splice(5, 0, `${ts(3)} BUG: kernel NULL pointer dereference, address: 0000000000000008`, `${ts(3)} Call Trace:`, `${ts(3)}  <TASK>`);
    const data = text(lines);
    const whole = await analyze(data, { chunk: data.length });
    const bytes = await analyze(data, { chunk: 1 });
    const odd = await analyze(data, { chunk: 7 });
    expect(bytes).toEqual(whole);
    expect(odd).toEqual(whole);
    expect(whole.counts).toEqual({ bug: 1, callTrace: 1 });
    expect(whole.quoted.bug?.[0]?.offset).toBe(data.indexOf('[    3.000000] BUG'));
  });

  it('accepts strings, Node streams, CRLF lines and a last line without newline', async () => {
    const lines = cleanRcu([5, 9]).join('\r\n');
    const f = await analyzeConsole(Readable.from([lines.slice(0, 100), Buffer.from(lines.slice(100))]), { suite: rcu, token: TOKEN });
    expect(f.endOfTest).toBe('SUCCESS');
    expect(f.lastVersion).toBe(9);
    expect(f.tokenFound).toBe(true);
    expect(f.bytes).toBe(Buffer.byteLength(lines));
    expect(f.tail.at(-1)).toBe(`${ts(31.5)} reboot: Power down`);
  });

  it('reports a missing token and no token check without one', async () => {
    expect((await analyze(text(cleanRcu()), { token: 'abc' })).tokenFound).toBe(false);
    expect((await analyze(text(cleanRcu()), { token: undefined })).tokenFound).toBeNull();
    expect((await analyze('', { token: 'x' })).tokenFound).toBe(false);
  });

  it('counts nul bytes and keeps their lines readable', async () => {
    const data = Buffer.concat([Buffer.from(text(cleanRcu())), Buffer.alloc(300), Buffer.from('\n\0\0tail\n')]);
    const f = await analyze(data, { chunk: 100 });
    expect(f.counts.nul).toBe(2);
    expect(f.quoted.nul?.map((q) => q.text)).toEqual(['<300 nul>', '<2 nul>tail']);
  });

  it('cuts a huge line without a newline instead of holding it', async () => {
    const data = Buffer.concat([Buffer.from(text(boot())), Buffer.alloc(1024 * 1024), Buffer.from(`\n${rcuEnd(9)}\n`)]);
    const f = await analyze(data, { chunk: 4096 });
    expect(f.bytes).toBe(data.length);
    expect(f.endOfTest).toBe('SUCCESS');
    expect(f.counts.nul).toBeGreaterThanOrEqual(16);
    expect(f.quoted.nul?.[0]?.text.length).toBeLessThanOrEqual(301);
  });

  it('ignores ver: lines from before the writer started', async () => {
    const lines = [
      ...boot(),
      rcuStart(),
      ...rcuStat(15, 0, { rtc: '0000000000000000' }),
      `${ts(16)} rcu-torture: rtc: (null) ver: 0 tfle: 1`,
      ...rcuStat(30, 400),
      rcuEnd(31),
    ];
    const f = await analyze(text(lines));
    expect(f.statLines).toBe(1);
    expect(f.versionProblem).toBeNull();
  });

  it('reads locktorture and scftorture endings', async () => {
    const lockLines = [
      ...boot({ module: 'locktorture' }),
      `${ts(1)} spin_lock-torture:--- Start of test: nwriters_stress=4 nreaders_stress=0 stat_interval=15 verbose=1`,
      `${ts(16)} Writes:  Total: 9385521  Max/Min: 0/0   Fail: 0 `,
      `${ts(31)} Writes:  Total: 18771042  Max/Min: 0/0   Fail: 1 !!!`,
      `${ts(32)} spin_lock-torture:--- End of test: FAILURE: nwriters_stress=4 nreaders_stress=0 stat_interval=15`,
    ];
    const lf = await analyze(text(lockLines), { suite: lock });
    expect(lf).toMatchObject({ endOfTest: 'FAILURE', testStarted: true, gracePeriods: null, counts: { bang: 1, failure: 1 } });

    const scfLines = [
      ...boot({ module: 'scftorture' }),
      `${ts(1)} scftorture: --- Start of test:  verbose=1 holdoff=10 longwait=0 nthreads=-1`,
      `${ts(16)} scftorture:  scf_invoked_count ver: 812 resched: 0 single: 400/400 single_ofl: 0/0 single_rpc: 0 single_rpc_ofl: 0 many: 3/3 all: 9/9 onoff: 0/0:0/0 -1,0:-1,0 0:0 (HZ=1000) ste: 0 stnmie: 0 stnmoe: 0 staf: 0`,
      `${ts(31)} scftorture:  scf_invoked_count VER: 1630 resched: 0 single: 800/800`,
      `${ts(32)} scftorture: --- End of test: LOCK_HOTPLUG:  verbose=1 holdoff=10`,
    ];
    const sf = await analyze(text(scfLines), { suite: scf });
    expect(sf).toMatchObject({ endOfTest: 'LOCK_HOTPLUG', lastVersion: 812, gracePeriods: null, counts: { hotplug: 1 } });
  });

  it('reads a file', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'kvm-farm-analyze-'));
    try {
      const file = path.join(dir, 'console.log');
      await writeFile(file, text(cleanRcu([7, 8])));
      expect(await analyzeConsoleFile(file, { suite: rcu })).toMatchObject({ lastVersion: 8, endOfTest: 'SUCCESS', tokenFound: null });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
