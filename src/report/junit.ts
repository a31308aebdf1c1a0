import type { RunSummary } from './types.js';

// XML 1.0 forbids most control characters, and console logs carry them (nul bytes included).
const INVALID_XML = /[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD]/g;

function escapeXml(text: string): string {
  return text
    .replace(INVALID_XML, '\uFFFD')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

/**
 * JUnit XML for Jenkins and GitLab: one test case per scenario instance. A kernel
 * failure is a <failure>; an infrastructure problem or a build failure is an <error>,
 * so dashboards never count a lost host as a kernel bug.
 */
export function formatJunit(summary: RunSummary): string {
  const judged = summary.instances.flatMap((x) => (x.verdict ? [{ ...x, verdict: x.verdict }] : []));
  const cases = judged.map((x) => {
    const seconds = ((x.guest?.durationMs ?? 0) / 1000).toFixed(3);
    const open = `  <testcase classname="kvm-farm.${escapeXml(summary.suite)}" name="${escapeXml(x.instance)}" time="${seconds}">`;
    // The title first: CI dashboards show the message, and the same failure has the same title.
    const message = escapeXml(`${x.verdict.kind}: ${x.verdict.title ?? x.verdict.reasons.join('; ')}`);
    const reasons = x.verdict.title === undefined ? [] : [x.verdict.reasons.join('; ')];
    const body = escapeXml([...reasons, ...x.verdict.quoted].join('\n'));
    const kind = x.verdict.kind;
    let inner = '';
    if (kind === 'infra-error' || kind === 'build-failed') inner = `    <error type="${kind}" message="${message}">${body}</error>\n`;
    else if (kind !== 'pass' && kind !== 'warn') inner = `    <failure type="${kind}" message="${message}">${body}</failure>\n`;
    else if (kind === 'warn') inner = `    <system-out>${message}\n${body}</system-out>\n`;
    return `${open}\n${inner}  </testcase>`;
  });
  const failures = judged.filter((x) => !['pass', 'warn', 'infra-error', 'build-failed'].includes(x.verdict.kind)).length;
  const errors = judged.filter((x) => ['infra-error', 'build-failed'].includes(x.verdict.kind)).length;
  const name = escapeXml(`kvm-farm ${summary.suite} ${summary.runDir}`);
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<testsuites>\n<testsuite name="${name}" tests="${judged.length}" failures="${failures}" errors="${errors}" timestamp="${summary.startedAt}">\n` +
    `${cases.join('\n')}\n</testsuite>\n</testsuites>\n`
  );
}
