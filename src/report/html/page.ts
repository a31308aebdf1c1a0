import { formatDuration } from '../../util/duration.js';
import { VERDICT_KINDS } from '../totals.js';
import type { InstanceResult } from '../types.js';
import { html, trusted, type Html } from './html.js';
import { buildTimeline, type ReportInput } from './model.js';
import { PAGE_CSS, PAGE_SCRIPT } from './assets.js';
import { gpPlotSvg, timelineSvg } from './svg.js';

/** Files of an instance the report links to, relative to report.html in the run directory. */
const INSTANCE_LINKS = ['console.log', 'qemu-cmd', 'console.log.diags'] as const;

/**
 * report.html: one self-contained page (no network, works from file://). The table
 * and every instance's details are plain HTML; the small inline script only adds
 * sorting, filtering and opening a section when it is linked to.
 */
export function renderReport(input: ReportInput): string {
  const { summary } = input;
  const title = `kvm-farm ${summary.suite} run ${baseName(summary.runDir)}`;
  const page = html`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title><style>${trusted(PAGE_CSS)}</style></head>
<body>
<h1>${title}</h1>
${totalsLine(input)}
<h2 id="timeline">Timeline</h2>
${timelineSvg(buildTimeline(input))}
${legend()}
<h2 id="verdicts">Verdicts</h2>
<div class="filters"><label>Filter <input id="filter" type="search" placeholder="instance, host, title…"></label>
<label>Verdict <select id="verdict-filter"><option value="">any</option>${VERDICT_KINDS.map((k) => html`<option>${k}</option>`)}</select></label>
<span id="shown"></span></div>
${verdictTable(summary.instances)}
<h2 id="instances">Instances</h2>
${summary.instances.map(instanceSection)}
<h2 id="facts">Run facts</h2>
${facts(input)}
<script>${trusted(PAGE_SCRIPT)}</script>
</body></html>
`;
  return page.text;
}

function totalsLine({ summary }: ReportInput): Html {
  const counts = VERDICT_KINDS.filter((k) => summary.totals[k] > 0).map((k) => html`<span class="chip v-${k}">${summary.totals[k]} ${k}</span> `);
  const seconds = (Date.parse(summary.endedAt) - Date.parse(summary.startedAt)) / 1000;
  return html`<p class="totals">${summary.instances.length} instance(s): ${counts} ${summary.interrupted ? html`<strong>interrupted</strong>` : ''} · ${formatDuration(seconds)} in all · exit code ${summary.exitCode}</p>`;
}

function legend(): Html {
  const kinds = [...VERDICT_KINDS.map((k) => [`v-${k}`, k]), ['build', 'kernel build'], ['lost', 'attempt lost with its host']];
  return html`<p class="legend">${kinds.map(([cls, name]) => html`<span><svg width="12" height="10"><rect class="bar ${cls}" width="12" height="10"/></svg> ${name}</span> `)}</p>`;
}

function verdictTable(instances: InstanceResult[]): Html {
  const head = ['instance', 'scenario', 'host', 'verdict', 'GPs', 'GPs/s', 'kernel', 'build', 'duration', 'title'];
  const rows = instances.map((x) => {
    const v = x.verdict;
    const kind = v?.kind ?? 'built';
    const ms = x.guest?.durationMs;
    return html`<tr data-verdict="${kind}"><td data-v="${x.instance}"><a href="#i-${x.instance}">${x.instance}</a></td><td>${x.scenario}</td><td>${x.host ?? ''}</td><td data-v="${kind}"><span class="chip v-${kind}">${kind}</span></td><td class="num" data-v="${v?.gracePeriods ?? -1}">${v?.gracePeriods ?? ''}</td><td class="num" data-v="${v?.gracePeriodRate ?? -1}">${v?.gracePeriodRate?.toFixed(1) ?? ''}</td><td>${x.kernel.source}${x.kernel.version ? ` ${x.kernel.version}` : ''}</td><td class="num" data-v="${x.kernel.buildMs ?? -1}">${x.kernel.buildMs === undefined ? '' : formatDuration(x.kernel.buildMs / 1000)}</td><td class="num" data-v="${ms ?? -1}">${ms === undefined ? '' : formatDuration(ms / 1000)}</td><td class="title">${v?.title ?? ''}</td></tr>`;
  });
  return html`<table id="verdict-table"><thead><tr>${head.map((h, i) => html`<th data-col="${i}" title="sort">${h}</th>`)}</tr></thead><tbody>${rows}</tbody></table>`;
}

function instanceSection(x: InstanceResult): Html {
  const v = x.verdict;
  const kind = v?.kind ?? 'built';
  const failing = v !== undefined && kind !== 'pass';
  const quotes = v?.quoted.map((line, i) => {
    const n = v.quotedLines?.[i];
    return html`<tr><td class="ln">${n === undefined ? '' : n}</td><td><code>${line}</code></td></tr>`;
  });
  return html`<details id="i-${x.instance}" class="instance"${failing ? trusted(' open') : ''}><summary><span class="chip v-${kind}">${kind}</span> <b>${x.instance}</b>${x.host ? ` on ${x.host}` : ''}${v?.title ? html` — <span class="title">${v.title}</span>` : ''}</summary>
<p class="links">${INSTANCE_LINKS.map((f) => html`<a href="${x.instance}/${f}">${f}</a> `)}</p>
${v && v.reasons.length > 0 ? html`<ul class="reasons">${v.reasons.map((r) => html`<li>${r}</li>`)}</ul>` : ''}
${quotes && quotes.length > 0 ? html`<table class="quoted"><thead><tr><th>line</th><th>console.log</th></tr></thead><tbody>${quotes}</tbody></table>` : ''}
${v?.gpSeries ? gpPlotSvg(v.gpSeries) : ''}
${x.warnings.length + x.kernel.configMismatches.length > 0 ? html`<ul class="warnings">${[...x.warnings, ...x.kernel.configMismatches].map((w) => html`<li>${w}</li>`)}</ul>` : ''}
</details>
`;
}

function facts({ summary, facts: f }: ReportInput): Html {
  const rows: [string, string][] = [
    ['command line', f.commandLine ?? '(not recorded)'],
    ['suite', summary.suite],
    ['kernel tree', f.kernelTree ?? '(not recorded)'],
    ['commit', f.commit ?? '(not a git tree)'],
    ['accelerator', summary.accel ? `${summary.accel}${summary.accelReason ? ` (${summary.accelReason})` : ''}` : '(nothing booted)'],
    ['test duration', `${summary.durationSeconds} s per guest`],
    ['started', summary.startedAt],
    ['ended', summary.endedAt],
    ['run directory', summary.runDir],
    ['report written', f.generatedAt],
  ];
  if (f.localCpus !== undefined && !summary.hosts) rows.push(['CPUs', `${f.localCpus} on this machine`]);
  const hosts = summary.hosts
    ? html`<table class="hosts"><thead><tr><th>host</th><th>state</th><th>CPUs</th><th>accel</th><th>lost</th><th>batches</th><th>why</th></tr></thead><tbody>${summary.hosts.map(
        (h) => html`<tr><td>${h.name}</td><td>${h.state}</td><td class="num">${h.cpus ?? ''}</td><td>${h.accel ?? ''}</td><td class="num">${h.losses}</td><td class="num">${h.batches.length}</td><td>${h.failure ?? ''}</td></tr>`,
      )}</tbody></table>`
    : '';
  return html`<table class="facts"><tbody>${rows.map(([k, v]) => html`<tr><th>${k}</th><td><code>${v}</code></td></tr>`)}</tbody></table>${hosts}`;
}

function baseName(dir: string): string {
  return dir.split('/').filter(Boolean).at(-1) ?? dir;
}
