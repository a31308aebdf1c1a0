import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { remoteRun } from '../../src/farm/index.js';
import { useFarm } from '../transport/farm-fixture.js';
import { useBrowser, openReport, readReportDom, screenshot } from '../helpers/browser.js';
import { requireReal } from '../helpers/require.js';
import { smallRunOptions } from '../helpers/run-options.js';
import { waitFor } from '../helpers/wait.js';

const tree = requireReal('kernel-tree', 'kernel-build', 'qemu', 'farm', 'chromium').kernelTree;
const { farm } = useFarm({ hosts: [{ name: 'f1', cpus: 1 }, { name: 'f2', cpus: 1 }] });
const results = mkdtempSync(path.join(os.tmpdir(), 'kvmfarm-report-remote-'));
const browser = useBrowser();
afterAll(() => rmSync(results, { recursive: true, force: true }));


describe('report.html of a kvm-remote run that lost a host (real kernels under TCG, real sshd hosts)', () => {
  it('shows one lane per host, the lost attempt on the lost host, every instance, and the host facts', async () => {
    const name = 'report-lost';
    const remoteLog = path.join(results, `${name}-remote`, 'remote-log');
    const run = remoteRun({
      hosts: ['f1', 'f2'], sshConfigFile: farm().configFile, agent: null, accel: 'tcg',
      source: { kind: 'build', options: smallRunOptions(tree, results, { configs: '3*UP01-SMALL', durationSeconds: 30, datestamp: name }) },
    });
    await waitFor(() => { try { return /f2 state ready -> running: batch \d+ started/.test(readFileSync(remoteLog, 'utf8')); } catch { return false; } }, 10 * 60_000);
    // Let the guest boot a while, so a part of its console is home when the host goes.
    await new Promise((r) => setTimeout(r, 10_000));
    await farm().cutNetwork('f2');
    try {
      const summary = await run;
      const f2 = summary.hosts.find((h) => h.name === 'f2')!;
      expect(f2).toMatchObject({ state: 'failed', losses: 1 });
      const rerun = summary.instances.filter((x) => x.warnings.includes('rerun after host loss (f2)'));
      expect(rerun).toHaveLength(1);

      const { page, network } = await openReport(browser(), path.join(summary.runDir, 'report.html'));
      expect(network).toEqual([]);
      const dom = await readReportDom(page);
      expect(dom.lanes).toEqual(['f1', 'f2']);
      expect(dom.rows.map((r) => r.instance)).toEqual(summary.instances.map((x) => x.instance));
      expect(dom.rows.map((r) => r.host)).toEqual(['f1', 'f1', 'f1']);
      const lost = dom.bars.filter((b) => b.cls === 'bar lost');
      expect(lost.map((b) => b.instance)).toEqual([rerun[0]!.instance]);
      // The lost bar is drawn in f2's lane.
      const lane = await page.$eval(`svg.timeline rect.lost`, (r) => Number(r.getAttribute('y')));
      const f2Top = await page.$eval('svg.timeline g.lane[data-lane="f2"] rect.lane-bg', (r) => Number(r.getAttribute('y')));
      expect(lane).toBeGreaterThanOrEqual(f2Top);
      const hostFacts = await page.$$eval('table.hosts tbody tr', (rows) => rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent)));
      expect(hostFacts.map((r) => [r[0], r[1], r[4]])).toEqual([['f1', 'done', '0'], ['f2', 'failed', '1']]);
      await screenshot(page, 'report-kvm-remote-lost-host.png');
      await page.close();
    } finally {
      await farm().restoreNetwork('f2');
    }
  }, 20 * 60_000);
});
