import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { renderReport } from '../src/report/html/page.js';
import { syntheticFarmSummary } from './report-synthetic.js';

/**
 * report.html of a synthetic 1,000-instance farm run (8 hosts, one lost): its size,
 * the time to generate it, and the time headless chromium takes to load and lay it
 * out, three readings each in a fresh page. The limits: under 5 MB, under 2 s.
 */
const INSTANCES = 1000;
const HOSTS = 8;
const dir = mkdtempSync(path.join(os.tmpdir(), 'kvmfarm-report-bench-'));
try {
  const summary = syntheticFarmSummary(INSTANCES, HOSTS, dir);
  const t0 = performance.now();
  const page = renderReport({ summary, facts: { generatedAt: new Date().toISOString(), commandLine: 'kvm-remote --hosts host1,...,host8 --configs 100*CFLIST', kernelTree: '/src/linux', commit: '0'.repeat(40) } });
  const generateMs = performance.now() - t0;
  const file = path.join(dir, 'report.html');
  writeFileSync(file, page);
  const bytes = statSync(file).size;

  const browser = await chromium.launch({
    executablePath: process.env.KVM_FARM_CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  const readings: { loadMs: number; laidOutMs: number; wallMs: number }[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      const tab = await browser.newPage({ viewport: { width: 1300, height: 1000 } });
      const started = performance.now();
      await tab.goto(pathToFileURL(file).href, { waitUntil: 'load' });
      // Forcing a layout of the whole page after load: the page is then ready to scroll.
      const timing = await tab.evaluate(() => {
        void document.body.getBoundingClientRect().height;
        const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
        return { loadMs: nav.loadEventEnd - nav.startTime, laidOutMs: performance.now() };
      });
      readings.push({ ...timing, wallMs: performance.now() - started });
      await tab.close();
    }
  } finally {
    await browser.close();
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(`report.html for ${INSTANCES} instances on ${HOSTS} hosts: ${(bytes / 1e6).toFixed(2)} MB (limit 5 MB), generated in ${generateMs.toFixed(0)} ms`);
  for (const r of readings) console.log(`  chromium: load event ${r.loadMs.toFixed(0)} ms, laid out ${r.laidOutMs.toFixed(0)} ms, goto..laid out ${r.wallMs.toFixed(0)} ms`);
  const laidOut = median(readings.map((r) => r.laidOutMs));
  console.log(`median laid out: ${laidOut.toFixed(0)} ms (limit 2000 ms)`);
  if (bytes >= 5e6 || laidOut >= 2000) process.exitCode = 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
