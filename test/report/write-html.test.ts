import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { syntheticFarmSummary } from '../../bench/report-synthetic.js';
import { readRunFacts, recordCommandLine } from '../../src/report/html/write-html.js';
import { writeReports } from '../../src/report/write.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'kvmfarm-write-html-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('report.html beside summary.json', () => {
  it('is written with the other reports, with the tree, commit and command line from the run directory', () => {
    writeFileSync(path.join(dir, 'testid.txt'), 'Build directory: /src/linux\nCurrent commit: 0123abcd\n\n --- Output of git status:\n');
    recordCommandLine(dir, ['/usr/bin/node', '/usr/lib/node_modules/kvm-farm/bin/kvm-run', '--configs', 'TREE03 BUSTED01', '--bootargs', "it's"]);
    recordCommandLine(dir, ['/usr/bin/node', '/x/bin/kvm-recheck', dir]);
    expect(readFileSync(path.join(dir, 'command'), 'utf8')).toBe(`kvm-run --configs 'TREE03 BUSTED01' --bootargs 'it'\\''s'\n`);
    expect(readRunFacts(dir)).toMatchObject({ kernelTree: '/src/linux', commit: '0123abcd', commandLine: `kvm-run --configs 'TREE03 BUSTED01' --bootargs 'it'\\''s'` });
    writeReports(syntheticFarmSummary(8, 2, dir));
    const page = readFileSync(path.join(dir, 'report.html'), 'utf8');
    expect(page).toContain('<code>0123abcd</code>');
    expect(page).toContain('kvm-run --configs &#39;TREE03 BUSTED01&#39;');
    expect(existsSync(path.join(dir, 'junit.xml'))).toBe(true);
  });

  it('records no command line for a library call (a test runner is not a kvm-farm command)', () => {
    const other = mkdtempSync(path.join(dir, 'lib-'));
    recordCommandLine(other, ['/usr/bin/node', '/x/node_modules/vitest/dist/workers/forks.js']);
    expect(existsSync(path.join(other, 'command'))).toBe(false);
  });
});
