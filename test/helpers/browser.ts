import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';

/** Debian's chromium; the report tests need it and fail (never skip) without it. */
export const CHROMIUM = process.env.KVM_FARM_CHROMIUM ?? '/usr/bin/chromium';

/** Where CI collects screenshots from. */
export const ARTIFACTS = path.resolve('res/ci-artifacts');

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install chromium (apt-get install chromium)`);
  // playwright gives every launch a fresh profile directory (--user-data-dir), removed on close.
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/** One headless Chromium for the calling test file, started before its tests and closed after them. */
export function useBrowser(): () => Browser {
  let browser: Browser | undefined;
  beforeAll(async () => {
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });
  return () => {
    if (!browser) throw new Error('chromium did not start');
    return browser;
  };
}

export interface OpenedReport {
  page: Page;
  /** Every URL the page asked for that was not a file: the report must need none. */
  network: string[];
  /** Milliseconds from navigation start to the load event, as the page measured it. */
  loadMs: number;
}

export async function openReport(browser: Browser, file: string): Promise<OpenedReport> {
  const page = await browser.newPage({ viewport: { width: 1300, height: 1000 } });
  const network: string[] = [];
  page.on('request', (r) => {
    if (!r.url().startsWith('file:')) network.push(r.url());
  });
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  const loadMs = await page.evaluate(() => {
    const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
    return nav.loadEventEnd - nav.startTime;
  });
  return { page, network, loadMs };
}

export async function screenshot(page: Page, name: string, fullPage = true): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, name);
  await page.screenshot({ path: file, fullPage });
  return file;
}

/** What the report shows, read from the live DOM. */
export async function readReportDom(page: Page) {
  return page.evaluate(() => {
    const rows = [...document.querySelectorAll('#verdict-table tbody tr')] as HTMLTableRowElement[];
    return {
      rows: rows.map((r) => ({ instance: r.cells[0]!.textContent!.trim(), host: r.cells[2]!.textContent!.trim(), verdict: r.dataset.verdict!, title: r.cells[9]!.textContent!.trim(), hidden: r.hidden })),
      lanes: [...document.querySelectorAll('svg.timeline g.lane')].map((g) => g.getAttribute('data-lane')!),
      bars: [...document.querySelectorAll('svg.timeline rect.bar')].map((b) => ({ instance: b.getAttribute('data-instance')!, cls: b.getAttribute('class')! })),
      sections: [...document.querySelectorAll('details.instance')].map((d) => ({
        id: d.id,
        open: (d as HTMLDetailsElement).open,
        title: d.querySelector('summary .title')?.textContent ?? '',
        quoted: [...d.querySelectorAll('table.quoted tbody tr')].map((tr) => ({ line: tr.querySelector('td.ln')!.textContent!, text: tr.querySelector('code')!.textContent! })),
        links: [...d.querySelectorAll('p.links a')].map((a) => a.getAttribute('href')!),
        plot: d.querySelector('svg.gp path') !== null,
      })),
    };
  });
}
