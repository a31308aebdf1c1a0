import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { againRun } from '../../src/again/again.js';
import { main as recheckMain } from '../../src/cli/kvm-recheck.js';
import type { RunSummary } from '../../src/report/types.js';
import { runKvm } from '../../src/run/kvm-run.js';
import { useBrowser, openReport, readReportDom, screenshot } from '../helpers/browser.js';
import { requireReal } from '../helpers/require.js';
import { smallRunOptions } from '../helpers/run-options.js';

const tree = requireReal('kernel-tree', 'kernel-build', 'qemu', 'chromium').kernelTree;
const results = mkdtempSync(path.join(os.tmpdir(), 'kvmfarm-report-real-'));
const MINUTES = 60_000;
const browser = useBrowser();
afterAll(() => rmSync(results, { recursive: true, force: true }));

/** The same instances booted again from the run's kernels and qemu-cmd files: a second run of the same failure. */
function again(summary: RunSummary, name: string, configs?: string): Promise<RunSummary> {
  return againRun({ runDir: summary.runDir, newRunDir: path.join(results, name), accel: 'tcg', bootTimeoutSeconds: 60, ...(configs ? { configs } : {}) });
}

function titleOf(summary: RunSummary, id: string): string | undefined {
  return summary.instances.find((x) => x.instance === id)?.verdict?.title;
}

const printed: string[] = [];
afterAll(() => console.log(`titles on real kernels:\n${printed.join('\n')}`));

describe('report.html and titles on real kernels (TCG)', () => {
  let run: RunSummary;

  it('a run with BUSTED01-SMALL among passing ones: chromium shows every instance, its lanes, the failure title and its quoted lines', async () => {
    run = await runKvm(smallRunOptions(tree, results, { configs: 'TREE02C-SMALL UP01-SMALL BUSTED01-SMALL', cpus: 3, datestamp: 'busted' }));
    const kinds = Object.fromEntries(run.instances.map((x) => [x.instance, x.verdict?.kind]));
    expect(kinds).toEqual({ 'TREE02C-SMALL': 'pass', 'UP01-SMALL': 'pass', 'BUSTED01-SMALL': 'fail' });
    const busted = run.instances.find((x) => x.instance === 'BUSTED01-SMALL')!.verdict!;
    expect(busted.title).toBe('busted-torture: !!! Reader Pipe');
    printed.push(`BUSTED01-SMALL (kvm-run): ${busted.title}`);

    const { page, network } = await openReport(browser(), path.join(run.runDir, 'report.html'));
    expect(network).toEqual([]);
    const dom = await readReportDom(page);
    expect(dom.rows.map((r) => r.instance)).toEqual(run.instances.map((x) => x.instance));
    // Locally a lane per set of CPUs in use at once, plus the builds; every guest has its bar.
    expect(dom.lanes[0]).toBe('builds');
    expect(dom.lanes.slice(1).every((l) => /^localhost CPU set \d+$/.test(l))).toBe(true);
    expect(dom.bars.filter((b) => b.cls.startsWith('bar v-')).map((b) => b.instance).sort()).toEqual(run.instances.map((x) => x.instance).sort());
    expect(dom.bars.find((b) => b.instance === 'BUSTED01-SMALL' && b.cls.startsWith('bar v-'))!.cls).toBe('bar v-fail');
    const section = dom.sections.find((s) => s.id === 'i-BUSTED01-SMALL')!;
    expect(section).toMatchObject({ open: true, title: 'busted-torture: !!! Reader Pipe', plot: true });
    expect(section.links).toEqual(['BUSTED01-SMALL/console.log', 'BUSTED01-SMALL/qemu-cmd', 'BUSTED01-SMALL/console.log.diags']);
    expect(section.quoted.some((q) => q.text.includes('!!!'))).toBe(true);
    // Each quoted line is where the report says it is in console.log.
    const consoleLines = readFileSync(path.join(run.runDir, 'BUSTED01-SMALL', 'console.log'), 'utf8').split('\n');
    for (const q of section.quoted) expect(consoleLines[Number(q.line) - 1]!.replace(/\r$/, '')).toContain(q.text.slice(0, 60));
    expect(await page.locator('#i-BUSTED01-SMALL table.quoted').isVisible()).toBe(true);
    await screenshot(page, 'report-kvm-run-busted.png');
    await page.close();
  }, 40 * MINUTES);

  it('the same failure rerun by kvm-again has the same title; kvm-recheck groups the titles of both runs', async () => {
    const second = await again(run, 'busted-again', 'BUSTED01-SMALL');
    expect(titleOf(second, 'BUSTED01-SMALL')).toBe(titleOf(run, 'BUSTED01-SMALL'));
    printed.push(`BUSTED01-SMALL (kvm-again): ${titleOf(second, 'BUSTED01-SMALL')}`);
    expect(readFileSync(path.join(second.runDir, 'report.html'), 'utf8')).toContain('busted-torture: !!! Reader Pipe');
    const out: string[] = [];
    await recheckMain([run.runDir, second.runDir], { out: (l) => out.push(l), err: (l) => out.push(l) });
    expect(out.slice(-2)).toEqual(['Failures by title over 2 run(s):', 'BUSTED01-SMALL: 2/2 instances: busted-torture: !!! Reader Pipe']);
  }, 20 * MINUTES);

  it('a kernel made to stall (rcutorture.stall_cpu) is titled by its stall, the same in two runs', async () => {
    // The stall warning after 7 s instead of 21, well before rcutorture's own writer-stall line would come.
    const stall = ['rcutorture.stall_cpu=20', 'rcutorture.stall_cpu_holdoff=5', 'rcupdate.rcu_cpu_stall_timeout=7'];
    const first = await runKvm(smallRunOptions(tree, results, { configs: 'TREE02C-SMALL', bootArgs: stall, durationSeconds: 60, datestamp: 'stall' }));
    const second = await again(first, 'stall-again');
    const titles = [titleOf(first, 'TREE02C-SMALL'), titleOf(second, 'TREE02C-SMALL')];
    printed.push(`TREE02C-SMALL stall_cpu=20: ${titles.join(' | ')}`);
    expect(first.instances[0]!.verdict?.kind).toBe('fail');
    expect(titles[0]).toBe('rcu: INFO: rcu_preempt detected stall on CPU');
    expect(titles[1]).toBe(titles[0]);
  }, 30 * MINUTES);

  it('a kernel that panics (no init to run) is titled by its panic, the same in two runs', async () => {
    const first = await runKvm(smallRunOptions(tree, results, { configs: 'UP01-SMALL', bootArgs: ['rdinit=/nonexistent'], datestamp: 'panic' }));
    const second = await again(first, 'panic-again');
    const titles = [titleOf(first, 'UP01-SMALL'), titleOf(second, 'UP01-SMALL')];
    printed.push(`UP01-SMALL rdinit=/nonexistent: ${titles.join(' | ')}`);
    expect(first.instances[0]!.verdict?.kind).toBe('fail');
    // Which panic depends on the config (no init found, or no root to mount when CONFIG_BLOCK is on).
    expect(titles[0]).toMatch(/^Kernel panic - not syncing: \S/);
    expect(titles[1]).toBe(titles[0]);
  }, 30 * MINUTES);
});
