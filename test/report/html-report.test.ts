import { describe, expect, it } from 'vitest';
import { syntheticFarmSummary } from '../../bench/report-synthetic.js';
import { escapeHtml, html } from '../../src/report/html/html.js';
import { buildTimeline } from '../../src/report/html/model.js';
import { renderReport } from '../../src/report/html/page.js';
import type { RunSummary } from '../../src/report/types.js';

const facts = { generatedAt: '2026-12-01T23:00:00.000Z', commandLine: 'kvm-remote --hosts a,b --configs "TREE03 x"', kernelTree: '/k', commit: 'deadbeef' };

describe('report.html', () => {
  it('escapes every value from a console, and lets only its own fragments through', () => {
    expect(escapeHtml(`<img src=x onerror="alert('1')">&`)).toBe('&lt;img src=x onerror=&quot;alert(&#39;1&#39;)&quot;&gt;&amp;');
    expect(html`<b>${'<i>'}</b>${html`<i>ok</i>`}${['<', html`&amp;`]}`.text).toBe('<b>&lt;i&gt;</b><i>ok</i>&lt;&amp;');
    const summary = syntheticFarmSummary(20, 2);
    const evil = summary.instances.find((x) => x.verdict?.kind === 'fail')!;
    evil.verdict!.title = '</script><script>alert(2)</script>';
    const page = renderReport({ summary, facts });
    expect(page).not.toContain('<script>alert');
    expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(page.match(/<script>/g)).toHaveLength(1);
  });

  it('has every instance in the table and a section each, one timeline lane per host, lost attempts marked', () => {
    const summary = syntheticFarmSummary(60, 4);
    const page = renderReport({ summary, facts });
    for (const x of summary.instances) {
      expect(page).toContain(`<a href="#i-${x.instance}">${x.instance}</a>`);
      expect(page).toContain(`<details id="i-${x.instance}"`);
    }
    expect(page.match(/<g class="lane"/g)).toHaveLength(4);
    const timeline = buildTimeline({ summary, facts });
    expect(timeline.lanes.map((l) => l.name)).toEqual(['host1', 'host2', 'host3', 'host4']);
    expect(timeline.lanes[3]!.note).toContain('failed: ssh connection lost');
    const lost = timeline.bars.filter((b) => b.kind === 'lost');
    expect(lost.length).toBeGreaterThan(0);
    expect(lost.every((b) => b.lane === 3)).toBe(true);
    expect(page).toContain('class="bar lost"');
    // The failing instance: title, quoted lines with their line numbers, links.
    const fail = summary.instances.find((x) => x.verdict?.kind === 'fail')!;
    expect(page).toMatch(new RegExp(`<details id="i-${fail.instance}" class="instance" open>`));
    expect(page).toContain(`<td class="ln">${fail.verdict!.quotedLines![0]}</td>`);
    expect(page).toContain(`<a href="${fail.instance}/console.log.diags">`);
    expect(page).toContain('rcu-torture: !!! Reader Pipe');
    expect(page).toContain('kvm-remote --hosts a,b --configs &quot;TREE03 x&quot;');
  });

  it('lays a local run out as a build lane and one lane per CPU set in use at once', () => {
    const t0 = Date.parse('2026-12-01T10:00:00.000Z');
    const at = (s: number) => new Date(t0 + s * 1000).toISOString();
    const guest = (id: string, start: number, seconds: number) => ({
      instance: id, host: 'localhost', exitCode: 0, signal: null, timedOut: false, noOutput: false, stopped: false, startError: null,
      durationMs: seconds * 1000, startedAt: at(start), logPath: '', token: 't', accel: 'tcg' as const,
    });
    const x = (id: string, start: number, built: boolean) => ({
      instance: id, scenario: id, host: 'localhost', batch: 1, cpus: 1, warnings: [],
      verdict: { instance: id, kind: 'pass' as const, reasons: [], quoted: [] },
      kernel: { source: built ? ('built' as const) : ('cached' as const), buildMs: built ? 60_000 : 5, buildStartedAt: at(built ? 0 : 61), configMismatches: [] },
      guest: guest(id, start, 30),
    });
    const summary: RunSummary = {
      runDir: '/r', suite: 'rcu', startedAt: at(0), endedAt: at(200), durationSeconds: 30, buildonly: false, interrupted: false, exitCode: 0,
      instances: [x('A', 70, true), x('B', 70, false), x('C', 101, false)], totals: {} as RunSummary['totals'],
    };
    const t = buildTimeline({ summary, facts });
    expect(t.lanes.map((l) => l.name)).toEqual(['builds', 'localhost CPU set 1', 'localhost CPU set 2']);
    expect(t.bars.filter((b) => b.kind === 'build').map((b) => [b.startMs, b.endMs])).toEqual([[0, 60_000]]);
    expect(t.bars.filter((b) => b.kind === 'guest').map((b) => [b.instance, b.lane, b.startMs])).toEqual([['A', 1, 70_000], ['B', 2, 70_000], ['C', 1, 101_000]]);
  });
});
