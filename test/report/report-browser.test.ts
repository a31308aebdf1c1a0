import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { syntheticFarmSummary } from '../../bench/report-synthetic.js';
import { renderReport } from '../../src/report/html/page.js';
import { useBrowser, openReport, readReportDom, screenshot } from '../helpers/browser.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'kvmfarm-report-'));
const browser = useBrowser();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, instances: number, hosts: number): string {
  const file = path.join(dir, name);
  writeFileSync(file, renderReport({ summary: syntheticFarmSummary(instances, hosts, dir), facts: { generatedAt: 'now', commandLine: 'kvm-remote --hosts h1,h2' } }));
  return file;
}

describe('report.html in headless chromium', () => {
  it('shows the table without script, and with it sorts, filters and opens a linked section; asks for nothing over the network', async () => {
    const file = write('small.html', 40, 4);
    const noJs = await browser().newPage({ javaScriptEnabled: false });
    await noJs.goto(`file://${file}`);
    expect(await noJs.locator('#verdict-table tbody tr').count()).toBe(40);
    expect(await noJs.locator('#verdict-table tbody tr').first().isVisible()).toBe(true);
    await noJs.close();

    const { page, network } = await openReport(browser(), file);
    expect(network).toEqual([]);
    await page.fill('#filter', 'Reader Pipe');
    let dom = await readReportDom(page);
    expect(dom.rows.filter((r) => !r.hidden).map((r) => r.verdict)).toEqual(['fail', 'fail', 'fail', 'fail']);
    await page.fill('#filter', '');
    await page.selectOption('#verdict-filter', 'warn');
    dom = await readReportDom(page);
    expect(dom.rows.filter((r) => !r.hidden).every((r) => r.verdict === 'warn')).toBe(true);
    await page.selectOption('#verdict-filter', '');
    await page.click('th[data-col="4"]');
    dom = await readReportDom(page);
    const gps = await page.$$eval('#verdict-table tbody tr td:nth-child(5)', (tds) => tds.map((td) => Number(td.textContent)));
    expect(gps).toEqual([...gps].sort((a, b) => a - b));
    // A bar in the timeline leads to its instance's section, opened.
    const pass = dom.rows.find((r) => r.verdict === 'pass')!.instance;
    await page.click(`svg.timeline rect[data-instance="${pass}"]`);
    expect(await page.locator(`#i-${pass.replace('.', '\\.')}`).evaluate((d) => (d as HTMLDetailsElement).open)).toBe(true);
    expect(dom.lanes).toEqual(['host1', 'host2', 'host3', 'host4']);
    await page.close();
  }, 60_000);

  it('a 1,000-instance report is under 5 MB and loads (its 2 s target is in the bench)', async () => {
    const file = write('big.html', 1000, 8);
    const bytes = statSync(file).size;
    expect(bytes).toBeLessThan(5_000_000);
    // Best of three: this machine is shared, and a reading is only slower for what else runs.
    const loads: number[] = [];
    for (let i = 0; i < 2; i++) {
      const opened = await openReport(browser(), file);
      loads.push(opened.loadMs);
      await opened.page.close();
    }
    const { page, loadMs } = await openReport(browser(), file);
    loads.push(loadMs);
    console.log(`1,000-instance report.html: ${(bytes / 1e6).toFixed(2)} MB, load event after ${loads.map((ms) => ms.toFixed(0)).join(', ')} ms`);
    // The 2 s target is measured by `npm run bench -- report`; here only a hang (2 minutes) fails, on however loaded a machine.
    expect(Math.min(...loads)).toBeLessThan(120_000);
    const dom = await readReportDom(page);
    expect(dom.rows).toHaveLength(1000);
    expect(dom.sections).toHaveLength(1000);
    await screenshot(page, 'report-synthetic-1000.png', false);
    await page.close();
  }, 60_000);
});
